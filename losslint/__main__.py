from __future__ import annotations

from losslint.cli import main

if __name__ == "__main__":
    main()
