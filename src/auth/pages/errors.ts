/**
 * How every page of the authorization server answers with HTML, and its one error page: a
 * PageError is thrown where a refusal is detected (a forged form, an expired sign-in) and
 * rendered once by `pageHandler`, which also turns anything unexpected into a logged 500 whose
 * page says nothing about the cause.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../log.js';
import { errorPage } from '../../html/error-page.js';

/** A refusal shown to the person as the error page: an OAuth-style error code and what to do. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
    this.name = 'PageError';
  }
}

/** Sends a page: HTML, never cached. */
export function sendHtml(res: Response, status: number, body: string): void {
  res.status(status).set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).send(body);
}

export function sendErrorPage(res: Response, failure: PageError): void {
  sendHtml(res, failure.status, errorPage({ error: failure.error, description: failure.description }));
}

export interface PageHandlerOptions {
  logger: Logger;
  /** The log message of an unexpected failure (`account page failed`). */
  failure: string;
  /** What the 500 page tells the person. */
  serverError: string;
  /** Errors of other kinds that are refusals, as their page (an expired interaction ...). */
  translate?(error: unknown): PageError | undefined;
}

/** Wraps page handlers: PageErrors (and what `translate` recognizes) become their page; anything else a logged 500. */
export function pageHandler(options: PageHandlerOptions) {
  return (work: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await work(req, res);
      } catch (error) {
        const refusal = error instanceof PageError ? error : options.translate?.(error);
        if (refusal) return sendErrorPage(res, refusal);
        options.logger.error({ err: error }, options.failure);
        sendErrorPage(res, new PageError(500, 'server_error', options.serverError));
      }
    };
}
