/**
 * Demo worker: integrates a few damped oscillators and inserts each result (a trajectory array plus
 * metadata) into the shared DataSet. Several of these run at once; the DataSet serializes their
 * writes with its lock. Usage: worker.ts <dataset> <workerId> <runs>
 */
import { DataSet, NDArray } from "../src/index.js";

const [dsPath, workerArg, runsArg] = process.argv.slice(2);
const worker = Number(workerArg);
const runs = Number(runsArg);

function simulate(omega: number, gamma: number, steps: number, dt: number) {
  // Velocity Verlet for x'' = -omega^2 x - gamma x'; rows: t, x, v.
  const out = new Float64Array(3 * steps);
  let x = 1;
  let v = 0;
  for (let i = 0; i < steps; i++) {
    out[i] = i * dt;
    out[steps + i] = x;
    out[2 * steps + i] = v;
    const a = -omega * omega * x - gamma * v;
    x += v * dt + 0.5 * a * dt * dt;
    const a2 = -omega * omega * x - gamma * v;
    v += 0.5 * (a + a2) * dt;
  }
  return {
    trajectory: new NDArray(out, [3, steps]),
    energy: 0.5 * v * v + 0.5 * omega * omega * x * x,
  };
}

await using ds = await DataSet.open(dsPath!, { mode: "w", arrayThreshold: 100 });
for (let r = 0; r < runs; r++) {
  const omega = 1 + worker + r / 10;
  const gamma = 0.05 * (r + 1);
  const { trajectory, energy } = simulate(omega, gamma, 2000, 0.01);
  const name = await ds.insert(
    { params: { omega, gamma, dt: 0.01 }, trajectory },
    { info: { worker, omega, gamma, finalEnergy: energy } },
  );
  process.stdout.write(`${name}\n`);
}
