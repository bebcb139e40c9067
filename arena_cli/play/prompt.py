"""Reading from the person at the terminal."""


def line_editing() -> None:
    """Arrow keys and history at the prompt, where Python has readline."""
    try:
        import readline  # noqa: F401  (importing it is what turns it on for input())
    except ImportError:
        pass
