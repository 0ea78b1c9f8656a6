"""The timing versions of the lesson's backward pass, and the runner that verifies and times them."""
