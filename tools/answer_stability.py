#!/usr/bin/python3
"""answer_stability.py RUN1 RUN2 — does batchbench's answer hold still?

Reads recommendation.json of two result folders of the same sweep (e.g. two
back-to-back runs of the README's first command, each copied aside) and
prints, per (model, setup), each run's recommended batch size and tied set,
whether each run's recommendation lies in the other run's tied set (and,
where not, whether the other run foresaw it: its rerun_may_answer, the
answers a rerun may give where a tie is borderline), the rounds each answer
left out as disturbed (src/stats/rounds.h), and,
for the first configuration the sweep measured, its time per item early
and late in its measurement (is the first configuration of a process
warm?). Exit 0 when every model's answers agree, 1 when one does not,
2 on bad input.
"""
import glob
import json
import statistics
import sys


def load(folder):
    try:
        with open(folder + "/recommendation.json") as f:
            recs = json.load(f)["recommendations"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(print(f"answer_stability: {folder}/recommendation.json: {e}", file=sys.stderr) or 2)
    return {(r["model"], r["device"], r["precision"], r["head"]): r for r in recs}


def first_config(folder):
    """The first configuration the sweep prepared and warmed up (the first
    model's smallest batch size; the first model's results are written
    first): (batch, model, early, late, k), the medians per item of its
    first and last k batch times."""
    rows = [json.load(open(f)) for f in glob.glob(folder + "/inference_time-*.json")]
    rows = [r for r in rows if len(r.get("times_s") or []) >= 20]
    if not rows:
        return None
    model = min(rows, key=lambda r: r["created_utc"])["config"]["model"]
    r = min((r for r in rows if r["config"]["model"] == model), key=lambda r: r["config"]["batch_size"])
    t, bs = r["times_s"], r["config"]["batch_size"]
    k = max(len(t) // 10, 2)
    return bs, model, statistics.median(t[:k]) / bs, statistics.median(t[-k:]) / bs, k


def rounds_left_out(recs):
    """Per model, the rounds its answer left out as disturbed (recommendation
    "rounds", src/stats/rounds.h): "resnet18 3, 5 of 26 (1.26x)", and the
    rounds that ran faster than usual: ", faster in 2, 3 (1.13x)"; "not
    judged" where the file has no rounds (older files, runs not interleaved)."""
    out = []
    for key in sorted(recs):
        r = recs[key].get("rounds")
        if not r:
            out.append(f"{key[0]} not judged")
            continue
        if not r["disturbed"]:
            text = f"{key[0]} none of {r['rounds']}"
        else:
            rounds = ", ".join(map(str, r["disturbed"]))
            kept = "" if r["left_out"] else ", kept: too few left without them"
            text = f"{key[0]} {rounds} of {r['rounds']} ({r['disturbed_slowdown']:.2f}x{kept})"
        if r.get("faster"):
            text += f", faster in {', '.join(map(str, r['faster']))} ({1 / r['faster_slowdown']:.2f}x)"
        if r.get("far"):
            text += (f", threads farther apart in {', '.join(map(str, r['far']))} "
                     f"({r['far_rtt_ns']:.0f} against {r['near_rtt_ns']:.0f} ns)")
        out.append(text)
    return "; ".join(out) or "-"


def threads_apart(folder):
    """Per model, the median over its slices of the threads' round trip
    (measurement.slice_core_rtt_ns, src/env/core_rtt.h): "mobilenet_v2 80 ns"
    ("-" where not recorded). Two runs that answer differently on a VM often
    differ here: their threads shared a cache in one and not in the other."""
    per = {}
    for f in glob.glob(folder + "/inference_time-*.json"):
        r = json.load(open(f))
        xs = [x for x in (r.get("measurement") or {}).get("slice_core_rtt_ns") or [] if x]
        per.setdefault(r["config"]["model"], []).extend(xs)
    return "; ".join(f"{m} {statistics.median(x):.0f} ns" for m, x in sorted(per.items()) if x) or "-"


def main(a, b):
    ra, rb = load(a), load(b)
    bad = foreseen = 0
    print("| model | run 1: use | run 1: tied | run 2: use | run 2: tied | each in the other's tied set |")
    print("| --- | --: | --- | --: | --- | --- |")
    for key in sorted(set(ra) | set(rb)):
        x, y = ra.get(key), rb.get(key)
        if not x or not y:
            print(f"| {key[0]} | {'-' if not x else x['recommended_batch']} | | "
                  f"{'-' if not y else y['recommended_batch']} | | only in one run |")
            bad += 1
            continue
        agree = x["recommended_batch"] in y["tied_batches"] and y["recommended_batch"] in x["tied_batches"]
        # the other answer was named as what a rerun may give, by either run
        seen = not agree and (y["recommended_batch"] in x.get("rerun_may_answer", []) or
                              x["recommended_batch"] in y.get("rerun_may_answer", []))
        bad += not agree
        foreseen += seen
        verdict = "yes" if agree else "NO (foreseen: a rerun may answer it)" if seen else "NO"
        print(f"| {key[0]} | {x['recommended_batch']} | {x['tied_batches']} | {y['recommended_batch']} | "
              f"{y['tied_batches']} | {verdict} |")
    for name, recs in (("run 1", ra), ("run 2", rb)):
        print(f"{name}: rounds left out: {rounds_left_out(recs)}")
    for name, folder in (("run 1", a), ("run 2", b)):
        print(f"{name}: threads' round trip (median over slices): {threads_apart(folder)}")
    for name, folder in (("run 1", a), ("run 2", b)):
        fc = first_config(folder)
        if fc:
            print(f"{name}: first configuration {fc[1]} batch {fc[0]}: {fc[2] * 1e3:.3f} ms/item over its first "
                  f"{fc[4]} batches, {fc[3] * 1e3:.3f} over its last {fc[4]} ({(fc[2] / fc[3] - 1) * 100:+.1f}%)")
    print(f"{len(set(ra) | set(rb)) - bad} agree, {bad} differ" + (f" ({foreseen} foreseen)" if foreseen else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(print(__doc__, file=sys.stderr) or 2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
