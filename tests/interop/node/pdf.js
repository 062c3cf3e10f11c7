// Load a .gen.json model with @magenta/sketch, feed it stroke-5 inputs with `update` and print
// the `getPDF` of every step (at TEMPERATURE, default 1: no rescaling) as JSON into OUT.json
// (stdout carries tfjs's own messages).
// Usage: node pdf.js MODEL.gen.json INPUTS.json OUT.json [TEMPERATURE]  (INPUTS: [[dx, dy, p1, p2, p3], ...] in model units)
'use strict';
const fs = require('fs');
const ms = require('@magenta/sketch');

const [modelPath, inputsPath, outPath, temperature] = process.argv.slice(2);
const [info, shapes, weights] = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
const inputs = JSON.parse(fs.readFileSync(inputsPath, 'utf8'));
const model = new ms.SketchRNN('unused://');
model.instantiateFromJSON(info, shapes, weights);
const n = model.NMIXTURE;
const s = model.scaleFactor;  // update() divides pixel offsets by it
let state = model.zeroState();
const steps = [];
for (const x of inputs) {
  state = model.update([x[0] * s, x[1] * s, x[2], x[3], x[4]], state);
  const pdf = model.getPDF(state, temperature === undefined ? 1.0 : Number(temperature));
  // sigmaY is sliced too long by getPDF (4n..15n): its first n values are the sigmas.
  steps.push({
    pi: Array.from(pdf.pi), muX: Array.from(pdf.muX), muY: Array.from(pdf.muY),
    sigmaX: Array.from(pdf.sigmaX), sigmaY: Array.from(pdf.sigmaY.slice(0, n)),
    corr: Array.from(pdf.corr), pen: Array.from(pdf.pen),
  });
}
fs.writeFileSync(outPath, JSON.stringify({numUnits: model.numUnits, nmixture: n, steps}));
