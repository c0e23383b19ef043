// Trains a small video classifier on VideoFrameGenerator batches with TensorFlow.js (pure-JS
// backend): a time-distributed convolution over each frame, then pooling over time.
//   node examples/train-classifier/train.mjs [datasetDir]    (datasetDir/<class>/*.mp4)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as vg from 'vidgraph';

// A tiny dataset when none is given: two classes that move differently.
function makeDataset() {
  const dir = path.join(process.env.VIDGRAPH_SAMPLES || path.join(os.homedir(), '.vidgraph', 'samples'), 'motion-dataset');
  const sources = { pan: 'testsrc2=size=96x72:rate=12', zoom: 'mandelbrot=size=96x72:rate=12' };
  for (const [cls, src] of Object.entries(sources)) {
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const file = path.join(dir, cls, `${cls}-${i}.mp4`);
      if (fs.existsSync(file)) continue;
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', src, '-ss', String(i * 0.5), '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', `${file}.tmp.mp4`]);
      fs.renameSync(`${file}.tmp.mp4`, file);
    }
  }
  return dir;
}

const dataset = process.argv[2] ?? makeDataset();
const gen = new vg.VideoFrameGenerator({ globPattern: path.join(dataset, '{classname}', '*.mp4'), nbFrames: 4, batchSize: 4, targetShape: [32, 24], split: 0.34, seed: 7 });
const val = gen.getValidationGenerator();
console.log(`classes ${gen.classes.join(', ')}: ${gen.filesCount} training videos, ${val.filesCount} validation videos`);

const model = tf.sequential();
model.add(tf.layers.timeDistributed({ layer: tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }), inputShape: [4, 24, 32, 3] }));
model.add(tf.layers.timeDistributed({ layer: tf.layers.globalAveragePooling2d({}) }));
model.add(tf.layers.globalAveragePooling1d());
model.add(tf.layers.dense({ units: gen.classesCount, activation: 'softmax' }));
model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

const epochLoss = [];
for (let epoch = 0; epoch < 10; epoch++) {
  let sum = 0;
  let n = 0;
  for await (const { x, xShape, y, yShape } of gen) {
    const xs = tf.tensor(x, xShape);
    const ys = tf.tensor(y, yShape);
    const result = await model.trainOnBatch(xs, ys);
    const loss = Array.isArray(result) ? result[0] : result;
    tf.dispose([xs, ys]);
    sum += Number(loss);
    n++;
  }
  epochLoss.push(sum / n);
  gen.onEpochEnd();
}
console.log(`training loss: first epoch ${epochLoss[0].toFixed(4)}, last epoch ${epochLoss[epochLoss.length - 1].toFixed(4)}`);
const batch = await val.getBatch(0).catch(() => undefined);
if (batch) {
  const { x, xShape, y } = batch;
  const pred = /** @type {import('@tensorflow/tfjs').Tensor} */ (model.predict(tf.tensor(x, xShape))).argMax(-1).dataSync();
  const truth = tf.tensor(y, [xShape[0], gen.classesCount]).argMax(-1).dataSync();
  console.log(`validation: ${pred.filter((/** @type {number} */ p, /** @type {number} */ i) => p === truth[i]).length}/${pred.length} correct`);
}
