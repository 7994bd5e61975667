"""`python -m dynatree` runs the same CLI as the `dynatree` console script."""

from dynatree.cli import main

raise SystemExit(main())
