// The page of the Faro e2e test, bundled with esbuild: the real Faro Web SDK and its tracing package, configured
// from `window.faroTest` ({ url, apiKey }) (the receiver URL and API key the test serves), sending one of each kind of item.
/* global window */
import { faro, getWebInstrumentations, initializeFaro } from '@grafana/faro-web-sdk';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';

const config = window.faroTest;
initializeFaro({
  url: config.url,
  apiKey: config.apiKey,
  app: { name: 'shop', version: '1.2.3', environment: 'e2e' },
  instrumentations: [...getWebInstrumentations(), new TracingInstrumentation()],
});

function checkout() {
  throw new Error('payment declined');
}

faro.api.pushLog(['hello from the browser'], { context: { page: 'cart' } });
try {
  checkout();
} catch (err) {
  faro.api.pushError(err);
}
faro.api.pushEvent('checkout_started', { step: 'pay' });
faro.api.pushMeasurement({ type: 'cart', values: { items: 3 } });
const { trace } = faro.api.getOTEL();
trace.getTracer('shop').startActiveSpan('render cart', (span) => {
  span.setAttribute('cart.items', 3);
  span.end();
});
window.faroTest.done = true;
