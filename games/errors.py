"""The one base class of every error Arena reports to a user as a one-line message.

It lives at the bottom of the layers (games <- engine <- league <- arena_cli) so that every package
can derive from it; the `arena` command catches it alone. A ValueError, as every such error was.
"""


class ArenaError(ValueError):
    """Bad input or an unusable file, run or player: its message is one line that names the fix."""
