import type { Db } from '../store/db';
import { saveEnrichments, type StoredEnrichment } from '../store/enrichment-repository';

/**
 * Saves one incident's answers as they come, those that arrive while a save is under way together
 * in the next one: answers landing within a few milliseconds of each other (the usual case, with
 * every source asked at once) cost one statement, not one each, and the last of them is stored —
 * and the card can be redrawn — that much sooner. Each `save` resolves once its answer is stored.
 */
export function createAnswerWriter(db: Db, incidentKey: string): { save(answer: StoredEnrichment): Promise<void> } {
  let waiting: Array<{ answer: StoredEnrichment; done: (e?: unknown) => void }> = [];
  let writing = false;

  const write = async () => {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await saveEnrichments(
          db,
          incidentKey,
          batch.map((w) => w.answer),
        );
        for (const w of batch) w.done();
      } catch (e) {
        for (const w of batch) w.done(e);
      }
    }
    writing = false;
  };

  return {
    save(answer) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ answer, done: (e) => (e === undefined ? resolve() : reject(e)) });
        if (!writing) void write();
      });
    },
  };
}
