"""``posekit-infer``: not implemented yet (arrives with the inference issue)."""

import sys


def main() -> None:
    print("posekit-infer: not implemented yet", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
