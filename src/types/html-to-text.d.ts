// html-to-text 10 ships no types; only what src/mail uses.
declare module 'html-to-text' {
  interface SelectorDefinition {
    selector: string;
    format?: string;
    options?: Record<string, unknown>;
  }
  interface HtmlToTextOptions {
    wordwrap?: number | false | null;
    limits?: { maxDepth?: number; maxChildNodes?: number; ellipsis?: string };
    selectors?: SelectorDefinition[];
  }
  export function convert(html: string, options?: HtmlToTextOptions): string;
}
