"""NVIDIA aiperf against FakeAI's engine clock (issue 14): what a load tool measures and scrapes.

    python bench/aiperf.py                          # concurrency 200, 1,000 streamed chats of 40 tokens
    python bench/aiperf.py --concurrency 50 --requests 300
    python bench/aiperf.py --baseline               # then the same run against a bare Litestar app pacing by sleeps

One FakeAI worker at --ttft-ms 200 --itl-ms 20. aiperf runs as its users run it
(``aiperf profile --endpoint-type chat --streaming``), with its server-metrics scrape of ``<url>/metrics``
on. Prints aiperf's TTFT and ITL p50/p90 against the configured values, its request throughput, and the
``vllm:`` metrics its scrape found; writes bench/results/aiperf.json. ``--baseline`` repeats the run against
``bench/bare_app.py``'s paced endpoint (one sleep per token, no metrics), which shows how much of what aiperf
reports is aiperf's own share of the machine.

aiperf is installed into its own virtualenv (``$FAKEAI_BENCH_CACHE`` or ~/.cache/fakeai-bench/aiperf) on
the first run: it pins its own dependency set, which should not enter FakeAI's. It needs a tokenizer to
build prompts; with no network to Hugging Face, a small byte-level BPE tokenizer is trained here from
FakeAI's own synthetic text and put in a private Hugging Face cache, and aiperf runs offline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import KEY, save_results, start_bare  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess  # noqa: E402

AIPERF = "aiperf==0.13.0"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TOKENIZER_REPO = "fakeai/bench-tokenizer"  # a name in the private cache, never fetched
TOKENS = 40
CACHE = Path(os.environ.get("FAKEAI_BENCH_CACHE") or Path.home() / ".cache" / "fakeai-bench")


def aiperf_venv() -> Path:
    env_dir = CACHE / "aiperf"
    binary = env_dir / "bin" / "aiperf"
    if not binary.exists():
        print(f"installing {AIPERF} into {env_dir} (once)", flush=True)
        venv.create(env_dir, with_pip=True)
        subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", AIPERF], check=True)
    return env_dir


def build_tokenizer(env_dir: Path, hf_home: Path) -> None:
    """A byte-level BPE tokenizer trained on FakeAI's synthetic prose, laid out as a Hugging Face cache entry."""
    from fakeai.modes.synthetic import text as T

    hf_home.mkdir(parents=True, exist_ok=True)
    corpus = hf_home / "corpus.txt"
    rng = T.make_rng(7, "bench")
    corpus.write_text("\n".join(T.generate(rng, topics=["rivers", "engines", "harbours"], max_tokens=400,
                                           ignore_eos=True).text for _ in range(200)))
    snapshot = hf_home / "hub" / f"models--{TOKENIZER_REPO.replace('/', '--')}" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot.parent.parent / "refs").mkdir(exist_ok=True)
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    script = f"""
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train([{str(corpus)!r}], trainers.BpeTrainer(vocab_size=4000, special_tokens=["<s>", "</s>", "<unk>"],
          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok.save({str(snapshot / "tokenizer.json")!r})
"""
    subprocess.run([str(env_dir / "bin" / "python"), "-c", script], check=True)
    (snapshot / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "model_max_length": 131072}))


def run_aiperf(env_dir: Path, hf_home: Path, url: str, key: str, concurrency: int, requests: int,
               out: Path) -> dict:
    cmd = [str(env_dir / "bin" / "aiperf"), "profile", "--model", MODEL, "--url", url, "--api-key", key,
           "--endpoint-type", "chat", "--streaming", "--concurrency", str(concurrency),
           "--request-count", str(requests), "--tokenizer", TOKENIZER_REPO,
           "--synthetic-input-tokens-mean", "100", "--output-tokens-mean", str(TOKENS),
           "--extra-inputs", "ignore_eos:true", "--extra-inputs", f"min_tokens:{TOKENS}",
           "--ui-type", "simple", "--artifact-dir", str(out)]
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        sys.exit(f"aiperf failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    found = {p.name: p for p in out.rglob("*.json")}
    metrics = json.loads(next(p for n, p in found.items() if n.endswith("aiperf.json")).read_text())
    server = next((p for n, p in found.items() if "server_metrics" in n), None)
    return {"metrics": metrics, "server_metrics": json.loads(server.read_text()) if server else None}


def _stat(metrics: dict, name: str) -> dict:
    m = metrics.get(name) or {}
    return {k: m.get(k) for k in ("p50", "p90", "avg", "unit")}


def vllm_names(server_metrics: dict | None) -> list[str]:
    """Every ``vllm:`` metric name anywhere in aiperf's server-metrics export."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.startswith("vllm:"):
                    names.add(k)
                if isinstance(v, str) and v.startswith("vllm:"):
                    names.add(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(server_metrics)
    return sorted(names)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--ttft-ms", type=float, default=200)
    ap.add_argument("--itl-ms", type=float, default=20)
    ap.add_argument("--baseline", action="store_true", help="also run against a bare paced app")
    args = ap.parse_args()
    env_dir = aiperf_venv()
    rows = []

    def report(server: str, got: dict) -> None:
        metrics = got["metrics"]
        ttft, itl = _stat(metrics, "time_to_first_token"), _stat(metrics, "inter_token_latency")
        row = {"server": server, "concurrency": args.concurrency, "requests": args.requests, "ttft_ms": ttft,
               "itl_ms": itl,
               "ttft_p50_vs_configured": round(ttft["p50"] / args.ttft_ms, 3) if ttft["p50"] else None,
               "itl_p50_vs_configured": round(itl["p50"] / args.itl_ms, 3) if itl["p50"] else None,
               "request_throughput": _stat(metrics, "request_throughput").get("avg"),
               "vllm_metrics_scraped": vllm_names(got["server_metrics"])}
        rows.append(row)
        print(json.dumps(row), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        hf_home = Path(tmp) / "hf"
        build_tokenizer(env_dir, hf_home)
        flags = ["--ttft-ms", str(args.ttft_ms), "--itl-ms", str(args.itl_ms), "--log-level", "warning"]
        with ServerProcess(*flags, db=str(Path(tmp) / "bench.db")) as server:
            report("fakeai", run_aiperf(env_dir, hf_home, server.root_url, server.api_key, args.concurrency,
                                        args.requests, Path(tmp) / "out"))
        if args.baseline:
            os.environ.update(BENCH_TTFT_MS=str(args.ttft_ms), BENCH_ITL_MS=str(args.itl_ms))
            bare, bare_url = start_bare(tmp)
            try:
                report("bare", run_aiperf(env_dir, hf_home, bare_url + "/paced", KEY, args.concurrency,
                                          args.requests, Path(tmp) / "out-bare"))
            finally:
                bare.terminate()
                bare.wait()
    save_results("aiperf.json", rows if len(rows) > 1 else rows[0])


if __name__ == "__main__":
    main()
