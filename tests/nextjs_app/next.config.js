// The smallest server: no telemetry, no image optimisation, nothing prerendered but the route.
module.exports = { images: { unoptimized: true } };
