import { describe, expect, it } from 'vitest';
import {
  FAMILIES,
  NO_MATCH_ANSWER,
  comparisonMargins,
  dataset,
  evaluateExpression,
  matchesFilter,
  renderExpression,
  resolveOptions,
  sceneDataset,
  tokenizeWords,
  VOCABULARY,
  VOCABULARY_WORDS,
  type Family,
  type RefSegSample,
} from '../src/index.js';

const N = 320;
const margins = comparisonMargins(resolveOptions());
const SAMPLES: Record<Family, RefSegSample[]> = Object.fromEntries(FAMILIES.map((f) => [f, dataset('train', f, N)])) as Record<Family, RefSegSample[]>;

function targetIds(s: RefSegSample): number[] {
  return s.targets.map((t) => t.objectId).sort((a, b) => a - b);
}

describe.each(FAMILIES)('%s family', (family) => {
  const samples = SAMPLES[family];

  it(`every expression's referents (independent evaluator, ${N} samples) are the targets, decided beyond the margins`, () => {
    const failures: string[] = [];
    for (const s of samples) {
      const e = evaluateExpression(s.scene, s.expression, margins);
      if (e.problems.length > 0 || JSON.stringify(e.referents) !== JSON.stringify(targetIds(s))) {
        failures.push(`${s.id} "${s.text}": evaluator ${JSON.stringify(e)} vs targets ${JSON.stringify(targetIds(s))}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('has the documented number of targets', () => {
    for (const s of samples) {
      if (family === 'empty') expect(s.targets.length).toBe(0);
      else if (family === 'multi') expect(s.targets.length).toBeGreaterThanOrEqual(2);
      else expect(s.targets.length).toBe(1);
      expect(s.expression.quantity).toBe(family === 'multi' ? 'all' : s.expression.quantity);
    }
  });

  it("every answer span refers to exactly its own target (phrase expressions checked by the evaluator)", () => {
    for (const s of samples) {
      for (const t of s.targets) {
        expect(renderExpression(t.phraseExpression)).toBe(t.phrase);
        const e = evaluateExpression(s.scene, t.phraseExpression, margins);
        expect(e, `${s.id} "${t.phrase}"`).toEqual({ referents: [t.objectId], problems: [] });
      }
    }
  });

  it('text, prompt and answer follow the documented grammar', () => {
    for (const s of samples) {
      expect(s.text).toBe(renderExpression(s.expression));
      expect(s.prompt).toMatch(new RegExp(`^(segment|find|show me) ${s.text}$`));
      if (s.targets.length === 0) {
        expect(s.spans).toEqual([s.text]);
        expect(s.answer).toBe(`<p> ${s.text} </p> ${NO_MATCH_ANSWER}`);
      } else {
        expect(s.spans).toEqual(s.targets.map((t) => t.phrase));
        expect(s.answer).toBe(s.targets.map((t) => `<p> ${t.phrase} </p> <SEG>`).join(' '));
        expect(s.answer.split('<SEG>').length - 1).toBe(s.targets.length);
        // Several targets are answered left to right.
        const xs = s.targets.map((t) => s.scene.objects[t.objectId]!.cx);
        expect([...xs].sort((a, b) => a - b)).toEqual(xs);
      }
      if (family === 'attribute' || family === 'relational') expect(s.spans).toEqual([s.text]);
    }
  });

  it('uses every template of the family', () => {
    const templates = new Set(samples.map((s) => s.template));
    const expected: Record<Family, string[]> = {
      attribute: ['attribute'],
      relational: ['relation', 'superlative', 'comparative'],
      reasoning: ['same-color', 'same-shape', 'corners-extreme', 'corner-count'],
      multi: ['multi-filter', 'multi-relation'],
      empty: ['empty-attribute', 'empty-relation', 'empty-same-color'],
    };
    expect([...templates].sort()).toEqual(expected[family].sort());
  });
});

describe('distractors make the expression necessary', () => {
  it('attribute: another object shares the target shape or colour, and each named attribute matters', () => {
    for (const s of SAMPLES.attribute) {
      const target = s.scene.objects[s.targets[0]!.objectId]!;
      const others = s.scene.objects.filter((o) => o.id !== target.id);
      expect(others.some((o) => o.shape === target.shape || o.color === target.color)).toBe(true);
      if (s.expression.ref.type !== 'filter') throw new Error('attribute expressions are filters');
      const filter = s.expression.ref.filter;
      // Dropping any one named attribute makes the phrase match another object.
      for (const key of Object.keys(filter) as Array<keyof typeof filter>) {
        const weaker = { ...filter };
        delete weaker[key];
        expect(others.some((o) => matchesFilter(o, weaker)), `${s.id} "${s.text}" without ${key}`).toBe(true);
      }
    }
  });

  it('relational: the filter alone matches several objects, so the relation must be read', () => {
    for (const s of SAMPLES.relational) {
      const r = s.expression.ref;
      if (r.type !== 'relation' && r.type !== 'extreme' && r.type !== 'comparative') throw new Error(r.type);
      expect(s.scene.objects.filter((o) => matchesFilter(o, r.filter)).length, s.text).toBeGreaterThanOrEqual(2);
    }
  });

  it('reasoning: the expression never names the target (its shape and colour together); the answer does', () => {
    for (const s of SAMPLES.reasoning) {
      const target = s.scene.objects[s.targets[0]!.objectId]!;
      const words = s.text.split(' ');
      expect(words.includes(target.shape) && words.includes(target.color), s.text).toBe(false);
      expect(s.spans[0]).not.toBe(s.text);
      expect(s.spans[0]!.split(' ')).toContain(target.shape);
    }
  });

  it('empty: every named attribute occurs in the scene, just not together', () => {
    let checked = 0;
    for (const s of SAMPLES.empty) {
      if (s.template !== 'empty-attribute' || s.expression.ref.type !== 'filter') continue;
      const filter = s.expression.ref.filter;
      for (const key of Object.keys(filter) as Array<keyof typeof filter>) {
        const partial = { [key]: filter[key] };
        expect(s.scene.objects.some((o) => matchesFilter(o, partial))).toBe(true);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('vocabulary coverage', () => {
  it('covers every word of every prompt, answer and scene description, and every plain word is used', () => {
    const vocab = new Set(VOCABULARY);
    const used = new Set<string>();
    const missing = new Set<string>();
    const texts: string[] = [];
    for (const f of FAMILIES) for (const s of SAMPLES[f]) texts.push(s.prompt, s.answer, s.text, s.description, ...s.spans);
    for (const s of sceneDataset('val', 50)) texts.push(s.description);
    for (const t of texts) {
      for (const w of tokenizeWords(t)) {
        used.add(w);
        if (!vocab.has(w)) missing.add(w);
      }
    }
    expect([...missing]).toEqual([]);
    // No dead entries: the list is exactly what the generator emits.
    expect(VOCABULARY_WORDS.filter((w) => !used.has(w))).toEqual([]);
  });
});

describe('other options', () => {
  it.each([
    [{ width: 32, height: 32 }],
    [{ width: 96, height: 48, minObjects: 3, maxObjects: 3 }],
    [{ positionMargin: 0.15, areaRatioMargin: 1.5, largeArea: [0.07, 0.12] as const }],
  ])('keep every referent unique and correct with %o', (options) => {
    const m = comparisonMargins(resolveOptions(options));
    for (const f of FAMILIES) {
      for (const s of dataset('val', f, 30, options)) {
        expect(evaluateExpression(s.scene, s.expression, m), `${s.id} "${s.text}"`).toEqual({ referents: targetIds(s), problems: [] });
      }
    }
  });
});
