"""Run every SQL example of README.md and compare its output with the README.

A fenced ```sql block is an example.  If the next non-blank line after it
opens a fenced block without a language (or ```text), that block is the
expected psql output; otherwise the example must print nothing.  All
examples run in order in one psql session, in a database where tokacct is
already created.  Prints one "ok"/"not ok" line per example.

usage: python3 readme_check.py [--update] README.md PSQL [psql args...]

--update rewrites the output blocks with what psql printed (to refresh the
README after a change whose values the regression suites already check).
"""
import difflib
import re
import subprocess
import sys


def examples(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i, out = 0, []
    while i < len(lines):
        if lines[i].strip() == "```sql":
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            sql = "\n".join(lines[start:j])
            k = j + 1
            while k < len(lines) and lines[k].strip() == "":
                k += 1
            expected, block = "", (j + 1, j + 1)
            if k < len(lines) and lines[k].strip() in ("```", "```text"):
                m = k + 1
                while lines[m].strip() != "```":
                    m += 1
                expected = "\n".join(lines[k + 1:m])
                block = (k + 1, m)
                j = m
            out.append((start, sql, expected, block))
            i = j + 1
        else:
            i += 1
    return out


def norm(text):
    text = re.sub(r"^psql:[^\n:]*:\d+: ", "", text, flags=re.M)
    return "\n".join(l.rstrip() for l in text.strip("\n").split("\n")).strip("\n")


def main():
    update = sys.argv[1] == "--update"
    if update:
        del sys.argv[1]
    path, psql = sys.argv[1], sys.argv[2:]
    ex = examples(path)
    script = []
    for n, (_, sql, _, _) in enumerate(ex):
        script.append("\\echo @@example %d@@" % n)
        script.append(sql)
    script.append("\\echo @@end@@")
    run = subprocess.run(psql, input="\n".join(script) + "\n", stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    text = run.stdout
    parts = re.split(r"^@@example (\d+)@@\n", text.split("@@end@@")[0], flags=re.M)
    got = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    bad = 0
    if update:
        lines = open(path, encoding="utf-8").read().split("\n")
        for n in reversed(range(len(ex))):
            _, _, expected, (a, b) = ex[n]
            actual = norm(got.get(n, ""))
            if a == b:
                if actual:
                    lines[a:a] = ["```"] + actual.split("\n") + ["```"]
            else:
                lines[a:b] = actual.split("\n")
        open(path, "w", encoding="utf-8").write("\n".join(lines))
        return 0
    for n, (line, sql, expected, _) in enumerate(ex):
        actual = norm(got.get(n, "<not run>"))
        if actual == norm(expected):
            print("ok readme example at line %d" % line)
        else:
            bad += 1
            print("not ok readme example at line %d" % line)
            for d in difflib.unified_diff(norm(expected).split("\n"), actual.split("\n"),
                                          "README", "actual", lineterm=""):
                print("    " + d)
    if "@@end@@" not in text:
        print("not ok psql did not reach the end of the README")
        print(text[-2000:])
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
