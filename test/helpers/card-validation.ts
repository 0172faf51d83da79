import * as AC from 'adaptivecards';

/** Parses a card with the Adaptive Cards SDK and returns its validation failures (none: valid). */
export function cardProblems(content: unknown): string[] {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  card.parse(content, context);
  const events = card.validateProperties().validationEvents.map((e) => e.message);
  return [...events, ...Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i).message)];
}
