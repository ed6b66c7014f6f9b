// html-to-text 10 ships no types; only what src/mail uses.
declare module 'html-to-text' {
  interface SelectorDefinition {
    selector: string;
    format?: string;
    options?: Record<string, unknown>;
  }
  interface DomNode {
    children?: DomNode[];
  }
  interface BlockTextBuilder {
    addLiteral(text: string): void;
    openBlock(options?: { leadingLineBreaks?: number }): void;
    closeBlock(options?: { trailingLineBreaks?: number }): void;
  }
  type FormatCallback = (
    elem: DomNode,
    walk: (nodes: DomNode[] | undefined, builder: BlockTextBuilder) => void,
    builder: BlockTextBuilder,
    formatOptions: Record<string, unknown>,
  ) => void;
  interface HtmlToTextOptions {
    wordwrap?: number | false | null;
    limits?: { maxDepth?: number; maxChildNodes?: number; ellipsis?: string };
    selectors?: SelectorDefinition[];
    formatters?: Record<string, FormatCallback>;
  }
  export function convert(html: string, options?: HtmlToTextOptions): string;
}
