/**
 * Finds every command a PowerShell script invokes, so that an accord's command policy can
 * be applied to each (powershell.ts). This is a scanner, not PowerShell's parser: it knows
 * statements and pipelines (`;`, newlines, `|`, `&&`, `||`), nesting (`( )`, `$( )`, `@( )`,
 * `{ }`, `@{ }`, `[ ]` indexes), strings and here-strings (their `$( )` included, and the
 * typographic quotes PowerShell also accepts), comments, backtick escapes, keywords, and
 * the `&` and `.` call operators. Whatever it cannot classify with certainty it refuses
 * (`Unclassifiable`): a command name that is computed, quoted with expansion, escaped or
 * non-ASCII; method calls other than a few string ones; static members of all but a few
 * types; casts to script blocks; assignments to members; file redirections; `--%`;
 * class, enum, using, workflow and data sections; anything unbalanced.
 */

import {
  KEYWORDS_EXPR,
  KEYWORDS_PIPELINE,
  KEYWORDS_REFUSED,
  SAFE_METHODS,
} from './powershell-words.js';
import {
  DQ,
  NEWLINE,
  SPACE,
  SQ,
  Unclassifiable,
  isIn,
  readHereString,
  readRedirection,
  readString,
  readTypeLiteral,
  readVariable,
  skipBlockComment,
  skipLineComment,
} from './powershell-lexis.js';

export { Unclassifiable } from './powershell-lexis.js';

/** An argument as the scanner saw it: enough for the rules of powershell.ts. */
export interface ScannedArgument {
  readonly kind: 'word' | 'parameter' | 'string' | 'block' | 'value';
  readonly text: string;
}

export interface ScannedCommand {
  /** The name as written (ASCII, no escapes); resolution and matching are powershell.ts's. */
  readonly name: string;
  readonly args: ScannedArgument[];
}

const WORD_END = `${SPACE}${NEWLINE};|&(){}<>,`;
/** What a command name may hold (after Unicode dashes became '-'). */
const NAME = /^[A-Za-z0-9_.\\/:?%*~+-]+$/;
/** Casts that turn text into code. */

const MAX_DEPTH = 64;

type Mode = 'command' | 'args' | 'expr';

class Scanner {
  i = 0;
  private depth = 0;
  readonly commands: ScannedCommand[] = [];
  private current: ScannedCommand | undefined;

  constructor(private readonly src: string) {}

  private fail(): never {
    throw new Unclassifiable();
  }
  private at(offset = 0): string {
    return this.src[this.i + offset] ?? '';
  }
  private startsWith(text: string): boolean {
    return this.src.startsWith(text, this.i);
  }

  /** Statements until `closer` (consumed) or the end of the script (closer ''). */
  statements(closer: string, hashtable = false): void {
    const saved = this.current;
    this.current = undefined;
    // Deeper nesting than any script needs is refused before it can exhaust the stack.
    if (++this.depth > MAX_DEPTH) this.fail();
    let mode: Mode = 'command';
    for (;;) {
      const c = this.at();
      if (c === '') {
        if (closer !== '') this.fail();
        break;
      }
      if (isIn(SPACE, c)) this.i += 1;
      else if (c === '`' && isIn(NEWLINE, this.at(1))) this.i += this.startsWith('`\r\n') ? 3 : 2;
      else if (isIn(NEWLINE, c) || c === ';') {
        this.i += 1;
        mode = this.endCommand();
      } else if (c === '#') {
        // A comment starts a token; right after a string or a bracket PowerShell may read
        // it as part of an argument instead, so that is refused rather than skipped.
        if (this.i > 0 && !isIn(`${SPACE}${NEWLINE};|&({`, this.src[this.i - 1] ?? '')) this.fail();
        this.i = skipLineComment(this.src, this.i);
      } else if (this.startsWith('<#')) this.i = skipBlockComment(this.src, this.i);
      else if (c === closer) {
        this.i += 1;
        break;
      } else if (isIn(')}]', c)) this.fail();
      else if (c === '|' || this.startsWith('&&')) {
        this.i += this.startsWith('||') || this.startsWith('&&') ? 2 : 1;
        mode = this.endCommand();
      } else if (c === '&' || (c === '.' && mode === 'command' && isIn(SPACE, this.at(1)))) {
        this.i += 1;
        if (mode === 'command') mode = this.callOperator();
        else mode = this.endCommand(); // `&` after a pipeline: run it in the background
      } else if (mode === 'command') mode = this.commandPosition(hashtable);
      else mode = this.argument(mode);
    }
    this.current = saved;
    this.depth -= 1;
  }

  private endCommand(): Mode {
    this.current = undefined;
    return 'command';
  }

  /** After `&` or `. `: a literal name, or a script block; anything computed is refused. */
  private callOperator(): Mode {
    while (isIn(SPACE, this.at())) this.i += 1;
    const c = this.at();
    if (c === '{') {
      this.i += 1;
      this.statements('}');
      return 'expr';
    }
    if (isIn(SQ, c) || isIn(DQ, c)) {
      const text = this.string();
      if (text === undefined || text === '') this.fail();
      this.record(text);
      return 'args';
    }
    return this.commandPosition(false, true);
  }

  private commandPosition(hashtable: boolean, afterCallOperator = false): Mode {
    const c = this.at();
    if (!afterCallOperator && (isIn(SQ, c) || isIn(DQ, c) || /[$@([{0-9!,+-]/.test(c))) {
      return this.argument('expr');
    }
    const word = this.word();
    if (!NAME.test(word)) this.fail();
    const lower = word.toLowerCase();
    if (hashtable && this.nextIs('=')) return 'expr';
    if (!afterCallOperator) {
      if (KEYWORDS_REFUSED.has(lower)) this.fail();
      if (KEYWORDS_PIPELINE.has(lower)) return 'command';
      if (lower === 'function' || lower === 'filter') {
        while (isIn(SPACE, this.at())) this.i += 1;
        this.word();
        return 'expr';
      }
      if (KEYWORDS_EXPR.has(lower) || (lower === 'foreach' && this.nextIs('('))) return 'expr';
      if (lower === 'break' || lower === 'continue') return 'args';
    }
    this.record(word);
    return 'args';
  }

  private record(name: string): void {
    // Unicode dashes count as '-' to PowerShell (a quoted name after `&` too).
    const normalised = name.replace(/[\u2013\u2014\u2015]/g, '-');
    if (!NAME.test(normalised)) this.fail();
    this.current = { name: normalised, args: [] };
    this.commands.push(this.current);
  }

  private nextIs(ch: string): boolean {
    let j = this.i;
    while (isIn(SPACE, this.src[j] ?? 'x')) j += 1;
    return this.src[j] === ch && this.src[j + 1] !== ch;
  }

  /** A bare word up to a delimiter; quotes, `$` or a backtick inside a command name: refused. */
  private word(): string {
    const start = this.i;
    while (this.at() !== '' && !isIn(WORD_END, this.at()) && this.at() !== '=') {
      if (isIn(SQ, this.at()) || isIn(DQ, this.at()) || isIn('$`', this.at())) this.fail();
      this.i += 1;
    }
    if (this.i === start) this.fail();
    return this.src.slice(start, this.i).replace(/[\u2013\u2014\u2015]/g, '-');
  }

  /** One token of arguments or of an expression. */
  private argument(mode: Mode): Mode {
    const c = this.at();
    const add = (kind: ScannedArgument['kind'], text: string): void => {
      this.current?.args.push({ kind, text });
    };
    if (isIn(SQ, c) || isIn(DQ, c)) {
      add('string', this.string() ?? '');
      this.postfix(false);
    } else if ((c === '@' || c === '$') && this.at(1) === '(') {
      this.i += 2;
      this.statements(')');
      add('value', '');
      this.postfix(false);
    } else if (c === '@' && (isIn(SQ, this.at(1)) || isIn(DQ, this.at(1)))) {
      this.i += 1;
      this.hereString();
      add('string', '');
    } else if (c === '@' && this.at(1) === '{') {
      this.i += 2;
      this.statements('}', true);
      add('value', '');
    } else if (c === '(') {
      this.i += 1;
      this.statements(')');
      add('value', '');
      this.postfix(false);
    } else if (c === '{') {
      this.i += 1;
      this.statements('}');
      add('block', '');
    } else if (c === '$' || c === '@') {
      this.i = readVariable(this.src, this.i);
      add('value', '');
      if (this.postfix(false) && mode === 'expr' && this.nextIsAssignment()) this.fail();
    } else if (c === '[') {
      const type = readTypeLiteral(this.src, this.i);
      this.i = type.end;
      this.postfix(type.safeStatics);
      add('value', '');
    } else if (c === '>' || (/[0-9*]/.test(c) && this.at(1) === '>')) {
      this.i = readRedirection(this.src, this.i);
    } else if (c === '<' || this.startsWith('--%')) {
      this.fail();
    } else if (c === '`') {
      this.i += 2; // an escaped character in an argument is literal
    } else if (c === ',') {
      this.i += 1;
    } else if (mode === 'expr' && /[=]/.test(c)) {
      this.i += 1;
      return 'command'; // the right side of an assignment is a pipeline
    } else {
      const start = this.i;
      this.argumentWord();
      const text = this.src.slice(start, this.i);
      if (mode === 'expr' && /^[A-Za-z]/.test(text)) {
        // A bare word where an expression goes: a keyword after a block, else a command.
        this.i = start;
        return this.commandPosition(false);
      }
      if (mode === 'expr' && /^-[A-Za-z]*=$/.test(text)) return 'command';
      add(text.startsWith('-') ? 'parameter' : 'word', text);
    }
    return mode;
  }

  private nextIsAssignment(): boolean {
    let j = this.i;
    while (isIn(SPACE, this.src[j] ?? 'x')) j += 1;
    return /^[-+*/%]?=(?!=)|^\?\?=/.test(this.src.slice(j, j + 3));
  }

  /** A generic token in argument position; quotes inside it start strings, as in PowerShell. */
  private argumentWord(): void {
    const start = this.i;
    while (this.at() !== '' && !isIn(WORD_END, this.at())) {
      const c = this.at();
      if (isIn(SQ, c) || isIn(DQ, c)) this.string();
      else if (c === '$' && this.at(1) === '(') {
        this.i += 2;
        this.statements(')');
      } else if (c === '`') this.i += 2;
      else if (c === '$') {
        this.i = readVariable(this.src, this.i);
        this.postfix(false);
      } else if (c < ' ' || c > '~') this.fail();
      else this.i += 1;
      if (this.i > start && this.src.startsWith('::', this.i)) this.fail();
    }
    if (this.i === start) this.fail();
  }

  /**
   * Member access after a value: `.name`, `[index]`, `.method(` (safe names only) and
   * `::member` (only right after a safe type literal). True when it ended on a member.
   */
  private postfix(staticAllowed: boolean): boolean {
    let member = false;
    for (;;) {
      if (this.startsWith('::')) {
        if (!staticAllowed) this.fail();
        this.i += 2;
        this.identifier();
        member = true;
        if (this.at() === '(') {
          this.i += 1;
          this.statements(')');
        }
      } else if (this.at() === '.' && /[A-Za-z_]/.test(this.at(1))) {
        this.i += 1;
        const name = this.identifier();
        member = true;
        if (this.at() === '(') {
          if (!SAFE_METHODS.has(name.toLowerCase())) this.fail();
          this.i += 1;
          this.statements(')');
        }
      } else if (this.at() === '[') {
        this.i += 1;
        this.statements(']');
        member = false;
      } else return member;
      staticAllowed = false;
    }
  }

  private identifier(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.i, this.i + 256));
    if (m === null) this.fail();
    this.i += m[0].length;
    return m[0];
  }

  /** A quoted string (its `$( )` scanned); its text when literal, else undefined. */
  private string(): string | undefined {
    const { end, literal } = readString(this.src, this.i, (at) => this.subexpression(at));
    this.i = end;
    return literal;
  }

  private hereString(): void {
    this.i = readHereString(this.src, this.i, (at) => this.subexpression(at));
  }

  /** `$(` at `at`: its statements, up to and past the `)`; where they end. */
  private subexpression(at: number): number {
    this.i = at + 2;
    this.statements(')');
    return this.i;
  }
}

/** Every command the script invokes, in order; throws Unclassifiable. */
export function scanPowerShell(script: string): ScannedCommand[] {
  const scanner = new Scanner(script);
  scanner.statements('');
  return scanner.commands;
}
