/**
 * The style document `smart_style_url` points to: colours and fonts an embedded app can adopt to
 * look like the EHR (SMART styling, STU2.2 §Styling). Served with CORS so browser apps can fetch it.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#styling
 */
import express from 'express';

export const SMART_STYLE = Object.freeze({
  color_background: '#f4f6f9',
  color_error: '#a61b1b',
  color_highlight: '#0b5cad',
  color_modal_backdrop: '',
  color_success: '#1d6b35',
  color_text: '#1d2733',
  dim_border_radius: '8px',
  dim_font_size: '16px',
  dim_spacing_size: '16px',
  font_family_body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  font_family_heading: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
});

export function smartStyleRoute(path: string): express.Router {
  const router = express.Router();
  router.get(path, (_req, res) => {
    res.set({ 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=3600' }).json(SMART_STYLE);
  });
  return router;
}
