import type { VideoReader } from '../reader';
import { checkTotal, FrameGeneratorBase, GeneratorOptions, Sample } from './base';

/**
 * nbFrames frames spread over each whole video, one sample per video.
 *
 * @example
 * const gen = new vg.VideoFrameGenerator({ globPattern: './videos/{classname}/*.avi', classes: ['run', 'walk'], split: 0.2 });
 * for await (const { x, xShape, y } of gen) model.trainOnBatch(tf.tensor(x, xShape), tf.tensor(y, [xShape[0], 2]));
 */
export class VideoFrameGenerator extends FrameGeneratorBase {
  /**
   * Finds the videos (`globPattern`, per class) and splits off the validation files; options
   * are validated at once (ERR_BAD_ARGUMENT), and no matching file is ERR_NOT_FOUND. `files` is
   * internal (the validation generator's samples).
   */
  constructor(options: GeneratorOptions = {}, files?: { train: Sample[]; validation: Sample[] }) {
    super(options, files);
  }

  protected rowsFor(s: Sample, reader: VideoReader): number[] {
    const n = reader.frameCount; // counted by the index, not the header
    checkTotal(n, s.file, this.nbFrames);
    const step = Math.floor(n / this.nbFrames);
    return Array.from({ length: this.nbFrames }, (_, i) => i * step);
  }

  /**
   * A generator over the validation files (the `split` share of each class), in order, without shuffling.
   *
   * @example
   * const gen = new vg.VideoFrameGenerator({ globPattern: './videos/{classname}/*.avi', split: 0.2 });
   * const validation = gen.getValidationGenerator();
   * const { x, y } = await validation.getBatch(0);
   */
  getValidationGenerator(): VideoFrameGenerator {
    return new VideoFrameGenerator({ ...this.options, classes: this.classes, shuffle: false, split: 0 }, { train: this.validationFiles, validation: [] });
  }
}
