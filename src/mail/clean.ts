/**
 * Mail body → the text a person meant to send: no signature, no quoted reply, no disclaimer, no "Sent from my
 * iPhone", no comment section. Pure functions over strings; the shapes come from real clients (see
 * ../shared/mail-samples).
 */

export interface CleanOptions {
  /** Lines starting with this are comments (kept in the spool, never sent as SMS text). Empty: off. */
  commentPrefix: string;
}

export interface CleanedBody {
  text: string;
  /** Comment section: after a "~~~" line, plus lines starting with the comment prefix. '' when none. */
  comment: string;
}

/** SMS Center's convention: a line that is exactly "~~~" starts the comment. */
const COMMENT_MARKER = /^~~~[ \t]*$/;

/** RFC 3676 signature separator; many clients lose the trailing space. */
const SIGNATURE = /^--[ \t]?$/;

/** Forwarded/original-message separators (Outlook, Thunderbird, Apple Mail, Russian and German clients). */
const ORIGINAL_MESSAGE = [
  /^-{2,}\s*(Original Message|Forwarded message|Исходное сообщение|Пересылаемое сообщение|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$/i,
  /^_{10,}\s*$/,
  /^Begin forwarded message:\s*$/i,
];

/** Outlook's reply header block: "From: …" followed within a few lines by "Sent: …" / "Date: …". */
const HEADER_FROM = /^\*?(From|От|Von|De|Van|Da|Od)\s*:\*?\s+\S/i;
const HEADER_SENT = /^\*?(Sent|Date|Отправлено|Дата|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden)\s*:\*?\s+\S/i;

/** The line introducing a quoted reply, e.g. "On Tue, Nov 24, 2026 at 11:02 AM NOC <noc@example.org> wrote:". */
const ATTRIBUTION =
  /(wrote|writes|пишет|написал|написала|написал\(а\)|писал\(а\)|schrieb|a écrit|escribió|ha scritto|schreef)\s*:\s*$/i;
const ATTRIBUTION_START = /^(On|Am|Le|El|Il|Op|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b/i;

/** Legal disclaimers: start of the paragraph. */
const DISCLAIMER = [
  /^\*?(CONFIDENTIALITY( NOTICE)?|DISCLAIMER|LEGAL NOTICE|PRIVILEGED (AND|&) CONFIDENTIAL|IMPORTANT NOTICE)\b/i,
  /^(This|The information (in|contained in) this) (e-?mail|message|communication|transmission)\b.*\b(confidential|privileged|intended (solely|only))/i,
  /^(Данное|Это|Настоящее) (сообщение|письмо|электронное письмо).*конфиденциальн/i,
  /^(КОНФИДЕНЦИАЛЬНОСТЬ|Конфиденциальная информация|Внимание: (данное|это) (сообщение|письмо))/i,
];

/** Mobile and webmail sign-offs: they count as signatures. */
const SIGN_OFF = [
  /^Sent from my [\w\s-]+$/i,
  /^Sent (from|with|via) (Mail for Windows|Outlook|Yahoo Mail|Gmail|ProtonMail|Proton Mail|BlackBerry|Samsung|my mobile)[\w\s.-]*$/i,
  /^Get Outlook for (iOS|Android)\s*$/i,
  /^Sent by Alertmanager\s*$/i,
  // A template's copyright footer ("© 2026 Grafana Labs. Sent by Grafana v11.3.1.").
  /^(©|\(c\)|Copyright\b)\s*(\d{4}\s*[-–]\s*)?\d{4}\b.{0,80}$/i,
  /^Отправлено (с|из|со) .{1,60}$/i,
  /^Von meinem .{1,40} gesendet\s*$/i,
  /^(Envoyé de mon|Enviado desde mi|Inviato da|Verzonden vanaf mijn|Enviado do meu) .{1,40}$/i,
];

/** Split off the comment section and prefixed comment lines. */
export function splitComments(text: string, commentPrefix: string): CleanedBody {
  const lines = text.split('\n');
  const marker = lines.findIndex((l) => COMMENT_MARKER.test(l));
  const body = marker === -1 ? lines : lines.slice(0, marker);
  const section =
    marker === -1
      ? ''
      : lines
          .slice(marker + 1)
          .join('\n')
          .trim();
  const kept: string[] = [];
  const prefixed: string[] = [];
  for (const line of body) {
    if (commentPrefix !== '' && line.startsWith(commentPrefix)) prefixed.push(line.slice(commentPrefix.length).trim());
    else kept.push(line);
  }
  return { text: kept.join('\n'), comment: [...prefixed, section].filter(Boolean).join('\n') };
}

function cutAt(lines: string[], index: number): string[] {
  return index === -1 ? lines : lines.slice(0, index);
}

function isBlank(line: string | undefined): boolean {
  return line === undefined || line.trim() === '';
}

/** Index of the first line of a reply's original message (Outlook header block or a separator), or -1. */
function originalMessageStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (ORIGINAL_MESSAGE.some((re) => re.test(line))) return i;
    if (HEADER_FROM.test(line) && lines.slice(i + 1, i + 5).some((l) => HEADER_SENT.test(l))) return i;
  }
  return -1;
}

/** Drop ">" quotes and the attribution line(s) before each quoted block. */
function dropQuotes(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*>/.test(line)) {
      // Remove the attribution above this quote block: skip blank lines back to it.
      let j = out.length - 1;
      while (j >= 0 && isBlank(out[j])) j--;
      if (j >= 0 && ATTRIBUTION.test(out[j] as string)) {
        // Gmail wraps long attributions: "On …, NOC <noc@…>" / "wrote:".
        const start =
          !ATTRIBUTION_START.test(out[j] as string) && j > 0 && ATTRIBUTION_START.test(out[j - 1] as string)
            ? j - 1
            : j;
        out.length = start;
      }
      continue;
    }
    out.push(line);
  }
  return out;
}

/** First line of a disclaimer paragraph (only after some real text), or -1. */
function disclaimerStart(lines: string[]): number {
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!isBlank(lines[i - 1])) continue;
    if (DISCLAIMER.some((re) => re.test(line))) return i;
  }
  return -1;
}

/** Remove a trailing mobile sign-off ("Sent from my iPhone"). */
function dropSignOff(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && isBlank(lines[end - 1])) end--;
  if (end > 0 && SIGN_OFF.some((re) => re.test((lines[end - 1] as string).trim()))) return lines.slice(0, end - 1);
  return lines;
}

/** NUL and other C0/C1 controls have no place in an SMS (form feed would even cost two GSM septets). */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/**
 * A subject as one line of SMS text: tabs and line breaks become spaces, other control characters go (a NUL from
 * an encoded word would otherwise reach the phone and force UCS-2), space runs become one.
 */
export function cleanSubject(subject: string): string {
  return subject
    .replace(/[\t\r\n]/g, ' ')
    .replace(CONTROLS, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Trailing spaces off, tabs and stray control characters out, blank-line runs down to one, ends trimmed. */
export function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROLS, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The whole cleaning, in order. */
export function cleanBody(raw: string, opts: CleanOptions): CleanedBody {
  const normalised = raw.replace(/\r\n?/g, '\n');
  const { text, comment } = splitComments(normalised, opts.commentPrefix);
  let lines = text.split('\n');
  lines = cutAt(
    lines,
    lines.findIndex((l) => SIGNATURE.test(l)),
  );
  lines = cutAt(lines, originalMessageStart(lines));
  lines = dropQuotes(lines);
  lines = cutAt(lines, disclaimerStart(lines));
  lines = dropSignOff(lines);
  return { text: tidy(lines.join('\n')), comment: tidy(comment) };
}

export type SubjectMode = 'prepend' | 'ignore' | 'only';

/**
 * Subject and body → SMS text. `only` with an empty subject falls back to the body: an alert with a blank subject
 * must still page someone.
 */
export function composeText(subject: string, body: string, mode: SubjectMode): string {
  const s = cleanSubject(subject);
  switch (mode) {
    case 'ignore':
      return body;
    case 'only':
      return s !== '' ? s : body;
    case 'prepend':
      if (s === '') return body;
      return body === '' ? s : `${s}\n${body}`;
  }
}
