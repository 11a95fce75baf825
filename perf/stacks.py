"""Summarises py-spy's raw (collapsed) stacks: inclusive share per function, idle excluded.

.venv/bin/python perf/stacks.py /tmp/prof/after.txt [--match substring] [--top 40]
"""

import argparse
import collections
import re

IDLE = (
    "poll (selectors",
    "epoll",
    "select (selectors",
    "_worker (concurrent/futures/thread.py",
    "wait (threading.py",
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="")
    args = parser.parse_args()
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    with open(args.path) as stacks:
        lines = stacks.readlines()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        frames = stack.split(";")
        leaf = frames[-1]
        if any(idle in leaf for idle in IDLE) or ("process " in frames[0] and len(frames) < 3):
            continue
        count = int(count)
        total += count
        own[re.sub(r":\d+\)", ")", leaf)] += count
        for frame in {re.sub(r":\d+\)", ")", f) for f in frames}:
            inclusive[frame] += count
    print(f"busy samples: {total}")
    for name, count in inclusive.most_common():
        if args.match in name:
            print(f"{100 * count / total:5.1f}% {name}")
            args.top -= 1
            if not args.top:
                break
    print("--- self")
    for name, count in own.most_common(25):
        print(f"{100 * count / total:5.1f}% {name}")


main()
