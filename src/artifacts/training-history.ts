/** The training-history artifact (`train.history`): one record per epoch, the best epoch, the backend. */
import { readFile, writeFile } from 'node:fs/promises';
import { UserInputError } from '../errors.js';

export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  learning_rate: number;
  seconds: number;
  /** Samples per second (images for letters, lines for line trainers). */
  images_per_second: number;
  /** Any other per-epoch metric a trainer reports (train metrics, or val_* ones). */
  [metric: string]: number | undefined;
}

export interface TrainingHistory {
  epochs: EpochRecord[];
  /** Epoch whose weights were kept by early stopping, or -1. */
  best_epoch: number;
  backend: string;
}

export async function writeTrainingHistory(file: string, history: TrainingHistory): Promise<void> {
  await writeFile(file, JSON.stringify(history, null, 2));
}

export async function readTrainingHistory(file: string): Promise<TrainingHistory> {
  const history = JSON.parse(await readFile(file, 'utf8')) as Partial<TrainingHistory>;
  if (!Array.isArray(history.epochs)) throw new UserInputError(`${file}: not a training history (no "epochs" list); wire train.history here`);
  return { epochs: history.epochs, best_epoch: history.best_epoch ?? -1, backend: history.backend ?? 'unknown' };
}
