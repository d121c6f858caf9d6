"""A generated section of README.md between two markers, for
scripts/msgtable.py and scripts/cmdtable.py: print it, --check that the
README holds it, or --update the README."""
import sys


def main(argv, begin, end, table, what, script):
    if len(argv) == 3 and argv[1] == "--check":
        text = open(argv[2]).read()
        try:
            current = text.split(begin, 1)[1].split(end, 1)[0].strip()
        except IndexError:
            print("README has no %s markers" % what)
            sys.exit(1)
        if current != table():
            print("README %s differs: run %s --update README.md" % (what, script))
            sys.exit(1)
        sys.exit(0)
    if len(argv) == 3 and argv[1] == "--update":
        text = open(argv[2]).read()
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        open(argv[2], "w").write(head + begin + "\n" + table() + "\n" + end + tail)
        sys.exit(0)
    print(table())
