export declare function cliVersion(): string;
