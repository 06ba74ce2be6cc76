// The numbers MoMo serves: E.164 digits with the country code and no '+', 8 to 15 of them, as
// the database's private.require_msisdn checks every MoMo payer and payee. WhatsApp serves
// shorter ones too (Niue's +683 xxxx has 7 digits), which MoMo can neither ask nor pay.
export const MSISDN = /^[1-9][0-9]{7,14}$/;

/** Whether MoMo can ask `number` for money or pay it. */
export const isMsisdn = (number: string): boolean => MSISDN.test(number);
