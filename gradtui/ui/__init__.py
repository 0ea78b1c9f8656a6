"""The Textual app: a thin face over DebugSession and the bench runner."""
