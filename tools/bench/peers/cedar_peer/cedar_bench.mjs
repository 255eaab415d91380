// Peer benchmark: the time of one Cedar decision for shiplog's production-start gate.
//
// A team that kept its deployment rules in Cedar would ask Cedar, at the production start, whether
// the facts gathered elsewhere pass the gate. The facts arrive already folded, as context; shiplog
// folds the deployment's history itself, so its figure includes work this one does not.
// The policy is preparsed once (preparsePolicySet) and every decision goes through
// statefulIsAuthorized, Cedar's fastest path.
//
// Usage: node cedar_bench.mjs [--decisions N] [--runs R] [--warmup W]
// Prints progress on stderr and one JSON object on stdout.

import {
  getCedarVersion,
  preparsePolicySet,
  statefulIsAuthorized,
} from '@cedar-policy/cedar-wasm/nodejs';

// The same gate as shiplog's production start, reduced to the three facts the issue names:
//   R10 staging-soak: staging READY at least 15 minutes (900 s) earlier;
//   R11 security-review: an approved security review;
//   R12 backup-before-prod: a verified backup for this deployment.
const GATE_POLICY = `
@id("production-start")
permit (
  principal,
  action == Action::"step.start",
  resource == Environment::"production"
) when {
  context.backup_verified &&
  context.review_approved &&
  context.soak_elapsed_seconds >= 900
};
`;
const POLICY_SET_ID = 'shiplog-gate';

const PASSING = { backup_verified: true, review_approved: true, soak_elapsed_seconds: 1200 };
// Each fails exactly one rule, so a policy that forgot a rule is caught.
const FAILING = [
  { ...PASSING, backup_verified: false },
  { ...PASSING, review_approved: false },
  { ...PASSING, soak_elapsed_seconds: 899 },
];

function parseArgs(argv) {
  const options = { decisions: 100000, runs: 3, warmup: 5000 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(name in options) || !Number.isInteger(value) || value < 1) {
      throw new Error(`bad option ${argv[i]} ${argv[i + 1] ?? ''}: want --decisions N --runs R --warmup W`);
    }
    options[name] = value;
  }
  return options;
}

function decide(context) {
  const answer = statefulIsAuthorized({
    principal: { type: 'Agent', id: 'leon' },
    action: { type: 'Action', id: 'step.start' },
    resource: { type: 'Environment', id: 'production' },
    context,
    preparsedPolicySetId: POLICY_SET_ID,
    entities: [],
  });
  if (answer.type !== 'success') {
    throw new Error(`Cedar failed to decide: ${JSON.stringify(answer.errors)}`);
  }
  return answer.response.decision;
}

function expect(context, wanted) {
  const got = decide(context);
  if (got !== wanted) {
    throw new Error(`the gate policy is wrong: ${JSON.stringify(context)} gave ${got}, want ${wanted}`);
  }
}

// Times are kept in typed arrays and sorted numerically by the typed array's own sort: no
// comparator callback, little garbage while timing.
function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

function median(values) {
  return percentile(Float64Array.from(values).sort(), 0.5);
}

// Alternates a passing and a failing context and checks every answer, so the figure is for
// decisions known to be right. Returns each decision's time in microseconds, all of them and
// split by the expected answer.
function timedDecisions(count) {
  const allUs = new Float64Array(count);
  const allowUs = new Float64Array(Math.ceil(count / 2));
  const denyUs = new Float64Array(Math.floor(count / 2));
  for (let i = 0; i < count; i++) {
    const passing = i % 2 === 0;
    const context = passing ? PASSING : FAILING[(i >> 1) % FAILING.length];
    const start = process.hrtime.bigint();
    const decision = decide(context);
    const elapsedUs = Number(process.hrtime.bigint() - start) / 1000;
    if (decision !== (passing ? 'allow' : 'deny')) {
      throw new Error(`decision ${i} was ${decision} for ${JSON.stringify(context)}`);
    }
    allUs[i] = elapsedUs;
    (passing ? allowUs : denyUs)[i >> 1] = elapsedUs;
  }
  return { allUs: allUs.sort(), allowUs: allowUs.sort(), denyUs: denyUs.sort() };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const parsed = preparsePolicySet(POLICY_SET_ID, { staticPolicies: GATE_POLICY });
  if (parsed.type !== 'success') {
    throw new Error(`the gate policy does not parse: ${JSON.stringify(parsed.errors)}`);
  }
  expect(PASSING, 'allow');
  expect({ ...PASSING, soak_elapsed_seconds: 900 }, 'allow');
  for (const context of FAILING) expect(context, 'deny');

  console.error(`cedar ${getCedarVersion()}: ${options.warmup} warm-up decisions`);
  timedDecisions(options.warmup);

  const runs = [];
  for (let run = 1; run <= options.runs; run++) {
    const { allUs, allowUs, denyUs } = timedDecisions(options.decisions);
    const figures = {
      median_us: percentile(allUs, 0.5),
      p99_us: percentile(allUs, 0.99),
      allow_median_us: percentile(allowUs, 0.5),
      deny_median_us: percentile(denyUs, 0.5),
    };
    console.error(`run ${run}/${options.runs}: ${options.decisions} decisions, ` +
                  `median ${figures.median_us.toFixed(2)} us, p99 ${figures.p99_us.toFixed(2)} us`);
    runs.push(figures);
  }

  const round = (value) => Math.round(value * 100) / 100;
  const result = {
    peer: 'cedar',
    cedar_version: getCedarVersion(),
    api: 'preparsePolicySet + statefulIsAuthorized',
    decisions_per_run: options.decisions,
    runs: options.runs,
    decisions_checked: true,
  };
  for (const key of Object.keys(runs[0])) {
    result[key] = round(median(runs.map((figures) => figures[key])));
  }
  console.log(JSON.stringify(result));
}

try {
  main();
} catch (error) {
  console.error(`cedar_bench: ${error.message}`);
  process.exit(1);
}
