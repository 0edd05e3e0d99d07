export const FAULTLINE_VERSION = '0.1.0';
