import sys

from fgir.cli import main

sys.exit(main())
