/** Top-level help. */
export const MAIN_USAGE = `flowseg — LLM-conditioned referring segmentation with FlowSeg

Usage:
  flowseg segment --image <in.png> --prompt "<expression>" [options]
  flowseg info [--checkpoint <dir>] [--json]
  flowseg demo [--seed <n>] [--family <family>] [--image <in.png> --prompt "<expression>"]
  flowseg evaluate [--split test|val|train] [--family <family>[,<family>…]] [--count <n>]
  flowseg --help | flowseg <command> --help | flowseg --version

Commands:
  segment   segment what the prompt refers to; write a mask PNG and an overlay PNG
  info      print a checkpoint's configuration and parameter counts
  demo      generate a synthetic scene and expression, segment it, report the IoU
  evaluate  cIoU and gIoU per family of the synthetic benchmark (the README's figures)

Exit codes: 0 success, 1 runtime error, 2 usage error.
`;

/** Help of \`flowseg segment\`. */
export const SEGMENT_USAGE = `Usage: flowseg segment --image <in.png> --prompt "<expression>" [options]

Segments what <expression> refers to in the image. The prompt is "segment <expression>"
unless the expression starts with an instruction verb (segment, find, show, describe,
highlight, locate, select). The language model writes the answer; each <SEG> in it is one
target. The mask PNG holds the union of the targets' masks (255 inside, 0 outside); the overlay
PNG tints target k in colour k. Files are written atomically.

Options:
  --image <file>            input PNG (any colour type; alpha ignored)          (required)
  --prompt <text>           referring expression or instruction                 (required)
  --checkpoint <dir>        checkpoint folder (default: the shipped flowseg-small)
  --mask <file>             mask PNG to write (default: <image>.mask.png next to the input)
  --out <file>              overlay PNG to write (default: <image>.overlay.png next to the input)
  --answer <text>           teacher-forced answer instead of a generated one,
                            e.g. "<p> the red circle </p> <SEG>"
  --max-new-tokens <n>      longest generated answer in tokens (default 32 or what fits)
  --threshold <p>           mask probability threshold in (0, 1) (default 0.5)
  --outline-candidates <k>  outline the k best runner-up candidates of each target (default 0)
  --backend <name>          wasm | cpu | webgpu | auto (default wasm)
  --threads <n>             wasm threads (default: all cores)
  --json                    print the result as one JSON object
  -h, --help                show this help
`;

/** Help of \`flowseg info\`. */
export const INFO_USAGE = `Usage: flowseg info [--checkpoint <dir>] [--json]

Loads a checkpoint (checking every weight against its config) and prints its configuration,
metadata and parameter counts per top-level part and in total.

Options:
  --checkpoint <dir>  checkpoint folder (default: the shipped flowseg-small)
  --backend <name>    wasm | cpu | webgpu | auto (default wasm)
  --threads <n>       wasm threads (default: all cores)
  --json              print one JSON object
  -h, --help          show this help
`;

/** Help of \`flowseg demo\` (what \`npm start\` runs). */
export const DEMO_USAGE = `Usage: flowseg demo [options]

Generates a scene and a referring expression with the synthetic benchmark (test split),
segments it with the checkpoint, writes an overlay PNG (the reference target outlined in
white) and prints the answer and the IoU against the generated ground truth. With --image and
--prompt it runs on your image instead (no ground truth, so no IoU).

Options:
  --seed <n>                which generated sample (default: a fresh one; printed)
  --family <family>         attribute | relational | reasoning | multi | empty (default: by seed)
  --image <file>            your own PNG instead of a generated scene (needs --prompt)
  --prompt <text>           the expression for --image
  --out <file>              overlay PNG to write (default: flowseg-overlay.png)
  --checkpoint <dir>        checkpoint folder (default: the shipped flowseg-small)
  --backend <name>          wasm | cpu | webgpu | auto (default: wasm)
  --threads <n>             wasm threads (default: the machine's cores)
  --json                    print one JSON object instead of text
  -h, --help                this help
`;

/** Help of \`flowseg evaluate\`. */
export const EVALUATE_USAGE = `Usage: flowseg evaluate [options]

Runs the checkpoint on samples of the synthetic benchmark's fixed splits and prints, per
expression family, cIoU and gIoU (an empty prediction for an empty target scores 1) and how
many generated answers equal the reference answer; with --answers teacher-forced, the oracle
cIoU (best candidate per target, selection bypassed) instead. Without --count it reads the rest
of the split after --start: val has 500 samples per family, test 1000, train 20000. With the
empty family included it also prints the release mean (cIoU per family, gIoU for empty, whose
cIoU is 0 as soon as one prediction is not empty), the figure shipped checkpoints are chosen on.

Options:
  --split <name>            test | val | train (default: test)
  --family <list>           attribute, relational, reasoning, multi, empty, comma-separated
                            (default: all five)
  --start <k>               first sample of each family (default: 0)
  --count <n>               samples per family (default: the rest of the split)
  --answers <mode>          generated | teacher-forced (default: generated)
  --checkpoint <dir>        checkpoint folder (default: the shipped flowseg-small)
  --backend <name>          wasm | cpu | webgpu | auto (default: wasm)
  --threads <n>             wasm threads (default: the machine's cores)
  --json                    print one JSON object instead of text
  -h, --help                this help
`;
