/**
 * An SMS reply from a phone as a mail to the sender of the SMS it answers: in that mail's thread (In-Reply-To,
 * References), From the phone's address at the SMS domain (so answering the mail sends an SMS back), the reply
 * first and the original SMS quoted below, as mail clients quote.
 */
import MimeNode from 'nodemailer/lib/mime-node';
import type { ReplyFacts } from './facts.js';
import { firstWords, mailDate } from './report.js';

export function replySubject(f: ReplyFacts): string {
  if (!f.original) return `SMS from +${f.phone}`;
  const base = f.original.subject?.trim() || firstWords(f.original.text, 50);
  return /^re:/i.test(base) ? base : `Re: ${base}`;
}

export function replyText(f: ReplyFacts): string {
  const body = [f.text.replace(/\r?\n/g, '\n')];
  if (f.original) {
    body.push('', `On ${mailDate(f.original.sentAt)}, the SMS to +${f.phone} said:`);
    body.push(...f.original.text.split(/\r?\n/).map((l) => `> ${l}`));
  } else {
    body.push('', `(An SMS from +${f.phone} that answers no SMS sent to this number recently.)`);
  }
  return `${body.join('\n')}\n`;
}

export async function buildReplyMail(f: ReplyFacts, messageIdDomain: string, outboxId: number): Promise<Buffer> {
  const root = new MimeNode('text/plain; charset=utf-8');
  root.setHeader({ From: f.from, To: f.to, Subject: replySubject(f), Date: mailDate(f.receivedAt) });
  root.setHeader('Message-ID', `<sms-reply-${outboxId}-${f.receivedAt}@${messageIdDomain}>`);
  const ref = f.original?.messageId;
  if (ref) {
    const id = ref.startsWith('<') ? ref : `<${ref}>`;
    root.setHeader('In-Reply-To', id);
    root.setHeader('References', id);
  }
  root.setContent(replyText(f));
  return root.build();
}
