"""The panels of the app; each renders what the session reports and computes nothing."""
