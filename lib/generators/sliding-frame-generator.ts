import { fromNative } from '../errors';
import { native } from '../native';
import { FrameGeneratorBase, GeneratorOptions, Sample } from './base';

/**
 * Every sliding window of nbFrames frames of each video, each window a distinct sample. Frames
 * in a window are `step` apart, where step spreads nbFrames over `sequenceTime` seconds (1 when
 * not given); consecutive windows start `step` frames apart. The constructor indexes every video
 * once to count its windows (frame counts come from the index, not the header).
 *
 * @example
 * const gen = new vg.SlidingFrameGenerator({ globPattern: './videos/{classname}/*.mp4', nbFrames: 8, sequenceTime: 2 });
 */
export class SlidingFrameGenerator extends FrameGeneratorBase {
  private readonly steps: Map<string, number>;

  constructor(options: GeneratorOptions & { sequenceTime?: number }, files?: { train: Sample[]; validation: Sample[]; steps: Map<string, number> }) {
    super(options, files);
    this.steps = files?.steps ?? new Map();
    if (!files) {
      const expand = (list: Sample[]) => list.flatMap((s) => {
        let info;
        try {
          info = native().scanSync(s.file);
        } catch (err) {
          throw fromNative(err, s.file);
        }
        const step = options.sequenceTime ? Math.max(1, Math.round((info.fps * options.sequenceTime) / this.nbFrames)) : 1;
        this.steps.set(s.file, step);
        const span = (this.nbFrames - 1) * step + 1;
        const windows: Sample[] = [];
        for (let start = 0; start + span <= info.frames; start += step) windows.push({ ...s, start });
        return windows;
      });
      this.samples = expand(this.samples);
      this.validationFiles.splice(0, this.validationFiles.length, ...expand(this.validationFiles));
      this.onEpochEnd();
    }
  }

  protected rowsFor(s: Sample): number[] {
    const step = this.steps.get(s.file) ?? 1;
    return Array.from({ length: this.nbFrames }, (_, i) => s.start! + i * step);
  }

  getValidationGenerator(): SlidingFrameGenerator {
    return new SlidingFrameGenerator({ ...this.options, classes: this.classes, shuffle: false, split: 0 }, { train: this.validationFiles, validation: [], steps: this.steps });
  }
}
