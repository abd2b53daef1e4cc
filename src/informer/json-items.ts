// Incremental parsing of a JSON list (`{"kind": ..., "items": [...], ...}` or a top-level array)
// fed chunk by chunk: every element of the items array is JSON.parse'd on its own as soon as its
// last byte arrived and handed to `onItem`, so a 30 MB list never exists as one string or one
// object graph (the informer converts each item to a compact record and drops it at once).
// Everything but the items (kind, metadata with resourceVersion/continue) is parsed at the end.
//
// Byte-level scan: JSON's structural characters are ASCII and UTF-8 never uses bytes < 0x80 inside
// a multi-byte sequence, so braces and quotes can be found without decoding.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class JsonListSplitter {
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Depth of the array whose elements are items (1: top-level array, 2: `items` of an object);
   *  0 while not inside it. */
  private itemsDepth = 0;
  private seenItems = false;
  private topKind: 'object' | 'array' | '' = '';
  private done = false;
  /** Bytes of the current depth-1 string (keys are short; longer strings are not keys we want). */
  private key: number[] | null = null;
  private lastKey = '';
  private afterColon = false;
  /** Pieces of the item being read (it may span chunks); null when between items. */
  private item: Buffer[] | null = null;
  /** Everything outside the items, as read (small). */
  private rest: Buffer[] = [];
  private restLen = 0;

  constructor(private readonly onItem: (item: unknown) => void) {}

  /** Feeds the next chunk; throws on malformed JSON structure (JSON.parse errors of items too). */
  push(chunk: Buffer): void {
    let restFrom = 0; // start of the current run of non-item bytes in this chunk
    let itemFrom = this.item ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.key) {
            this.lastKey = this.key.length <= 16 ? String.fromCharCode(...this.key) : '';
            this.key = null;
          }
        } else if (this.key) {
          if (this.key.length <= 16) this.key.push(c);
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (this.done) throw new SyntaxError('unexpected data after the end of the JSON document');
      // An item starts at its first byte inside the items array, at the array's own depth.
      if (this.itemsDepth > 0 && this.depth === this.itemsDepth && itemFrom < 0 && c !== COMMA && c !== RBRACKET) {
        this.keepRest(chunk, restFrom, i);
        itemFrom = i;
        this.item = [];
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.topKind === 'object' && itemFrom < 0) this.key = [];
          break;
        case LBRACE:
        case LBRACKET:
          if (this.depth === 0) {
            if (this.topKind) throw new SyntaxError('more than one JSON document');
            this.topKind = c === LBRACE ? 'object' : 'array';
            if (c === LBRACKET) this.itemsDepth = 1;
          } else if (c === LBRACKET && this.depth === 1 && this.topKind === 'object' && this.afterColon &&
            this.lastKey === 'items' && !this.seenItems) {
            this.itemsDepth = 2;
            this.seenItems = true;
          }
          this.depth++;
          break;
        case RBRACE:
        case RBRACKET:
          if (this.depth === 0) throw new SyntaxError(`unexpected '${String.fromCharCode(c)}'`);
          if (this.depth === this.itemsDepth) {
            // The items array closes (an item in progress was a scalar: finish it first).
            if (itemFrom >= 0) {
              this.finishItem(chunk, itemFrom, i);
              itemFrom = -1;
              restFrom = i;
            }
            this.itemsDepth = 0;
          }
          this.depth--;
          if (this.depth === 0) this.done = true;
          // An object/array item ends when the depth returns to the items array's.
          if (itemFrom >= 0 && this.depth === this.itemsDepth) {
            this.finishItem(chunk, itemFrom, i + 1);
            itemFrom = -1;
            restFrom = i + 1;
          }
          break;
        case COMMA:
          // Separators between items stay out of the rest (it must parse with `items: []`).
          if (this.depth === this.itemsDepth) {
            if (itemFrom >= 0) this.finishItem(chunk, itemFrom, i); // a scalar item
            else this.keepRest(chunk, restFrom, i);
            itemFrom = -1;
            restFrom = i + 1;
          }
          break;
      }
      if (this.depth === 1) this.afterColon = c === COLON;
    }
    if (itemFrom >= 0) this.item!.push(Buffer.from(chunk.subarray(itemFrom)));
    else this.keepRest(chunk, restFrom, n);
  }

  /** Ends the input; returns the document without its items (`items: []`). */
  end(): unknown {
    if (!this.done) throw new SyntaxError(this.topKind ? 'unexpected end of JSON input' : 'empty JSON document');
    return JSON.parse(Buffer.concat(this.rest, this.restLen).toString('utf8'));
  }

  private keepRest(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const b = Buffer.from(chunk.subarray(from, to)); // a copy: the chunk itself may be large
    this.rest.push(b);
    this.restLen += b.length;
  }

  private finishItem(chunk: Buffer, from: number, to: number): void {
    const pieces = this.item!;
    this.item = null;
    let text: string;
    if (pieces.length === 0) text = chunk.toString('utf8', from, to);
    else {
      pieces.push(chunk.subarray(from, to));
      text = Buffer.concat(pieces).toString('utf8');
    }
    this.onItem(JSON.parse(text));
  }
}
