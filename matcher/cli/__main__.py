import sys

from matcher.cli.main import main

sys.exit(main())
