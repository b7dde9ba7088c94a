/**
 * The QR encoder, imported on the first QR code drawn rather than at start-up: it (with its PNG
 * writer) is dozens of modules that only factor enrolment and inbound links use.
 */
export const loadQrCode = async () => (await import("qrcode")).default;
