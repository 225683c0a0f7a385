/**
 * Reading the repository's Markdown the way GitHub renders it, for the documentation tests:
 * headings (outside fenced code) with their anchors, sections by heading, and relative links.
 */
import { readFileSync } from 'node:fs';
import { slugger } from '../../src/docs-ref.js';

export interface Heading {
  level: number;
  text: string;
  anchor: string;
  /** Index of the heading's line. */
  line: number;
}

/** The lines of `text` outside fenced code blocks (fences themselves dropped), with their index. */
export function proseLines(text: string): { line: string; index: number }[] {
  const out: { line: string; index: number }[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((line, index) => {
    const opens = /^\s*(```+|~~~+)/.exec(line);
    if (opens) {
      const mark = opens[1] as string;
      if (fence === null) fence = mark;
      else if (mark.startsWith(fence)) fence = null;
      return;
    }
    if (fence === null) out.push({ line, index });
  });
  return out;
}

/** ATX headings (`## Title`) with GitHub's anchors; inline code and emphasis marks are dropped first. */
export function headings(text: string): Heading[] {
  const next = slugger();
  const found: Heading[] = [];
  for (const { line, index } of proseLines(text)) {
    const m = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const plain = (m[2] as string).replace(/[`*]/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    found.push({ level: (m[1] as string).length, text: plain, anchor: next(plain), line: index });
  }
  return found;
}

/** The text of a section: from its heading to the next heading of the same or a higher level. */
export function sectionText(text: string, heading: Heading, all: readonly Heading[]): string {
  const lines = text.split('\n');
  const after = all.find((h) => h.line > heading.line && h.level <= heading.level);
  return lines.slice(heading.line, after === undefined ? lines.length : after.line).join('\n');
}

/** Every `[text](target)` link outside code: target as written. */
export function links(text: string): string[] {
  const out: string[] = [];
  for (const { line } of proseLines(text)) {
    const noCode = line.replace(/`[^`]*`/g, '');
    for (const m of noCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1] as string);
  }
  return out;
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
