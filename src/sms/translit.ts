/**
 * Cyrillic → Latin, in the spirit of the provider's `translit=1` option, so Russian (and Ukrainian/Belarusian)
 * text can go as GSM at 160 characters a part instead of UCS-2 at 70. Multi-letter results follow the case of the
 * word: `Щука` → `Schuka`, `ЩУКА` → `SCHUKA`.
 */
const TABLE: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'yo',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'j',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'h',
  ц: 'c',
  ч: 'ch',
  ш: 'sh',
  щ: 'sch',
  ъ: '',
  ы: 'y',
  ь: "'",
  э: 'e',
  ю: 'yu',
  я: 'ya',
  // Ukrainian and Belarusian letters.
  і: 'i',
  ї: 'yi',
  є: 'ye',
  ґ: 'g',
  ў: 'u',
};

const CYRILLIC = /[\u0400-\u04FF]/u;

export function hasCyrillic(text: string): boolean {
  return CYRILLIC.test(text);
}

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

export function transliterate(text: string): string {
  const chars = [...text];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const lower = ch.toLowerCase();
    const latin = TABLE[lower];
    if (latin === undefined) {
      out += ch;
      continue;
    }
    if (ch === lower || latin.length === 0) {
      out += latin;
    } else if (
      latin.length === 1 ||
      isUpper(chars[i + 1]) ||
      (isUpper(chars[i - 1]) && !chars[i + 1]?.match(/\p{L}/u))
    ) {
      // A capital inside an all-caps word stays all caps: "ЩИ" → "SCHI";
      // a lone "Ж." → "ZH." is ambiguous; caps win.
      out += latin.toUpperCase();
    } else {
      out += latin[0]!.toUpperCase() + latin.slice(1);
    }
  }
  return out;
}
