import sys

from arena_cli.cli import main

sys.exit(main())
