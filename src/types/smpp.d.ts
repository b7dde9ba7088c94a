// The smpp package ships no type declarations; src/channels/smpp-session.ts describes the parts it uses.
declare module "smpp" {
  const smpp: unknown;
  export default smpp;
}
