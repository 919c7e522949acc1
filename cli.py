#!/usr/bin/env python3
"""graphcomp's command line: `python cli.py trace eq2.yaml --wrt x2 --mode reverse`."""
import sys

from graphcomp.cli import main

if __name__ == "__main__":
    sys.exit(main())
