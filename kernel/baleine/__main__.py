import sys

from baleine.cli import main

sys.exit(main())
