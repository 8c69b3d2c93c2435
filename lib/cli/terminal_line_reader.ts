/**
 * The terminal side of the shell's line editor: puts stdin in raw mode while a line is read,
 * turns bytes into keys, applies them with the pure editor in `line_editor.ts`, and redraws the
 * line with plain ANSI sequences. Only used when stdin is a terminal.
 *
 * @module
 */
import { stripColour } from "./colour.ts";
import {
  completeLine,
  type CompletionTarget,
  completionTarget,
  formatChoices,
} from "./completion.ts";
import { applyKey, emptyState, type Key, parseKeys, remember } from "./line_editor.ts";
import { terminalColumns, writeOrDrop } from "./terminal.ts";

/** Where a {@link TerminalLineReader} reads and draws. */
export interface TerminalLineReaderOptions {
  /** Raw-capable input (default stdin). */
  input?: typeof Deno.stdin;
  /** Output to draw on (default stdout). */
  output?: { writeSync(p: Uint8Array): number };
  /** Candidates for the word at the cursor (Tab). */
  complete?: (target: CompletionTarget) => Promise<readonly string[]>;
  /** Ends a pending read as if at end of input. */
  signal?: AbortSignal;
}

/** Reads edited lines from a terminal, keeping their history. */
export class TerminalLineReader {
  readonly #input: typeof Deno.stdin;
  readonly #output: { writeSync(p: Uint8Array): number };
  readonly #complete: (target: CompletionTarget) => Promise<readonly string[]>;
  readonly #signal: AbortSignal | undefined;
  readonly #decoder = new TextDecoder();
  readonly #buffer = new Uint8Array(4096);
  #pending: Key[] = [];
  #inflight: Promise<number | null> | undefined;
  #history: string[] = [];
  /** Redraws the line being edited; set while {@link read} runs. */
  #redraw: (() => void) | undefined;

  /** A reader on stdin and stdout unless told otherwise. */
  constructor(options: TerminalLineReaderOptions = {}) {
    this.#input = options.input ?? Deno.stdin;
    this.#output = options.output ?? Deno.stdout;
    this.#complete = options.complete ?? (() => Promise.resolve([]));
    this.#signal = options.signal;
  }

  /** Lines entered so far, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /** Shows `prompt` and resolves to the line entered, or null at Ctrl-D or end of input. */
  async read(prompt: string): Promise<string | null> {
    const promptWidth = [...stripColour(prompt)].length;
    let state = emptyState(this.#history);
    // The line (and cursor) whose choices were last listed: Tab again there lists nothing more.
    let listedFor: string | undefined;
    const draw = () => {
      const cursorAt = promptWidth + state.cursor;
      this.#write(
        `\r${prompt}${state.line}\x1b[K\r${cursorAt > 0 ? `\x1b[${cursorAt}C` : ""}`,
      );
    };
    this.#input.setRaw(true);
    this.#redraw = draw;
    try {
      draw();
      while (true) {
        const key = this.#pending.shift() ?? await this.#nextKey();
        if (key === null) {
          this.#write("\r\n");
          return null;
        }
        const result = applyKey(state, key);
        state = result.state;
        switch (result.action) {
          case "submit":
            draw();
            this.#write("\r\n");
            this.#history = remember(this.#history, state.line);
            return state.line;
          case "eof":
            this.#write("\r\n");
            return null;
          case "cancel":
            this.#write("^C\r\n");
            break;
          case "clear-screen":
            this.#write("\x1b[H\x1b[2J");
            break;
          case "complete": {
            const candidates = await this.#complete(
              completionTarget(state.line, state.cursor),
            ).catch(() => []);
            const completion = completeLine(state, candidates);
            state = completion.state;
            const at = `${state.cursor}:${state.line}`;
            if (completion.choices.length > 0 && listedFor !== at) {
              listedFor = at;
              const listed = formatChoices(completion.choices, terminalColumns());
              this.#write(`\r\n${listed.replaceAll("\n", "\r\n")}\r\n`);
            }
            break;
          }
        }
        // Draw once the keys at hand are used up (a paste is drawn once, not per key).
        if (this.#pending.length === 0) draw();
      }
    } finally {
      this.#redraw = undefined;
      this.#input.setRaw(false);
    }
  }

  /**
   * Prints a line of its own (a note from the serving peer, say) without spoiling the line being
   * edited: the line is cleared, the note printed, and the prompt and line drawn again below it.
   */
  note(text: string): void {
    if (!this.#redraw) {
      this.#write(`${text}\n`);
      return;
    }
    this.#write(`\r\x1b[K${text.replaceAll("\n", "\r\n")}\r\n`);
    this.#redraw();
  }

  async #nextKey(): Promise<Key | null> {
    while (this.#pending.length === 0) {
      this.#inflight ??= this.#input.read(this.#buffer);
      const aborted = this.#signal
        ? new Promise<"aborted">((resolve) => {
          if (this.#signal!.aborted) resolve("aborted");
          this.#signal!.addEventListener("abort", () => resolve("aborted"), { once: true });
        })
        : new Promise<never>(() => {});
      const n = await Promise.race([this.#inflight, aborted]);
      if (n === "aborted") return null;
      this.#inflight = undefined;
      if (n === null) return null;
      this.#pending.push(
        ...parseKeys(this.#decoder.decode(this.#buffer.subarray(0, n), { stream: true })),
      );
    }
    return this.#pending.shift()!;
  }

  #write(text: string): void {
    // When the terminal went away, the next read ends the session.
    writeOrDrop(this.#output, text);
  }
}
