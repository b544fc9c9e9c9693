"""Turn the hyperfine JSON exports of benches/run.sh into the Markdown table of README's
"Performance" section. Usage: table.py RESULTS_DIR."""

import json
import pathlib
import statistics
import sys

res = pathlib.Path(sys.argv[1])


def runs(name, index=0):
    return json.loads((res / f"{name}.json").read_text())["results"][index]


def ms(seconds):
    return seconds * 1000.0


def fmt(v):
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def spread(r):
    return f"{fmt(ms(r['min']))} – {fmt(ms(r['max']))}"


def verdict(ok):
    return "met" if ok else "**missed**"


rows = []


def row(what, r, target, result):
    rows.append((what, fmt(ms(r["median"])), spread(r), target, result))


render = runs("render-stdout")
write = runs("render-write")
changed = runs("render-write-changed")
kust = runs("kustomize")
ratio = kust["median"] / render["median"]
row("`render --profile prod --stdout` (all targets, stored secrets)", render,
    "≤ 5 ms", verdict(ms(render["median"]) <= 5))
row("`render --profile prod` into `deploy/prod`, outputs unchanged (nothing written)", write,
    "≤ 5 ms", verdict(ms(write["median"]) <= 5))
row("`render --profile prod` after a change (every file written, flushed, swapped in)",
    changed, "—", "disk-bound: fsync of 18 files and the directory")
row("`kubectl kustomize` of the equivalent hand-written base + prod overlay", kust,
    "≥ 10× our render", f"ours is {ratio:.0f}× faster: {verdict(ratio >= 10)}")

check = runs("check")
row("`check` (every shipped profile)", check, "≤ 10 ms", verdict(ms(check["median"]) <= 10))

# Least-squares slope of validate time over the number of profiles.
points = [(n, ms(runs(f"validate-{n}")["median"])) for n in (1, 10, 100)]
for n, _ in points:
    r = runs(f"validate-{n}")
    rows.append((f"`validate`, {n} generated profile(s)", fmt(ms(r["median"])), spread(r), "", ""))
mean_n = statistics.mean(n for n, _ in points)
mean_t = statistics.mean(t for _, t in points)
slope = sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points)
rows.append(("per extra profile (slope over 1/10/100)", f"{slope:.3f} ms", "", "≤ 0.5 ms", verdict(slope <= 0.5)))

ours = runs("keygen-rsa", 0)
openssl = runs("keygen-rsa", 1)
kratio = ours["median"] / openssl["median"]
row(f"RSA-4096 key, whole process (`keygen` example, {len(ours['times'])} runs)", ours,
    "≤ 3× openssl", f"{kratio:.1f}× openssl: {verdict(kratio <= 3)}")
row(f"RSA-4096 key, `openssl genpkey` ({len(openssl['times'])} runs)", openssl, "", "")
inproc = json.loads((res / "inproc-rsa.json").read_text())
rows.append((f"RSA-4096 key, in-process ({inproc['runs']} runs)", fmt(inproc["median_ms"]),
             f"{fmt(inproc['min_ms'])} – {fmt(inproc['max_ms'])}", "", ""))
ec = runs("keygen-ec")
row("EC P-384 key, whole process", ec, "≤ 5 ms", verdict(ms(ec["median"]) <= 5))
inproc = json.loads((res / "inproc-ec.json").read_text())
rows.append((f"EC P-384 key, in-process ({inproc['runs']} runs)", fmt(inproc["median_ms"]),
             f"{fmt(inproc['min_ms'])} – {fmt(inproc['max_ms'])}", "", ""))

clean = res / "clean-build-seconds"
if clean.exists():
    rows.append(("clean `cargo build --release`", f"{float(clean.read_text()):.0f} s", "one run", "", ""))
size = int((res / "binary-bytes").read_text())
rows.append(("release binary size", f"{size / 1024 / 1024:.1f} MiB", "", "", ""))

print("| measurement | median | min – max | target | result |")
print("|---|---:|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
machine = dict(line.split("=", 1) for line in (res / "machine").read_text().splitlines())
print()
print(f"Machine: {machine['nproc']} cores, {machine['cpu']}, load average {machine['load']} "
      f"at the end of the run; hyperfine {machine['hyperfine']}, OpenSSL {machine['openssl']}.")
