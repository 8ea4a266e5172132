/**
 * Published known-answer vectors, transcribed from the RFC texts: RFC 3961 Appendix A.1
 * (n-fold), RFC 3962 Appendix B (string-to-key, AES-CBC-CTS) and RFC 8009 Appendix A
 * (string-to-key, key derivation, encryption, checksums), plus the AES encryption and
 * checksum vectors of MIT krb5's own crypto tests (lib/crypto/crypto_tests).
 */

/** Hex with spaces and line breaks allowed. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

export const NFOLD: readonly [input: string, bits: number, out: string][] = [
  ['012345', 64, 'be072631276b1955'],
  ['password', 56, '78a07b6caf85fa'],
  ['Rough Consensus, and Running Code', 64, 'bb6ed30870b7f0e0'],
  ['password', 168, '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
  [
    'MASSACHVSETTS INSTITVTE OF TECHNOLOGY',
    192,
    'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b',
  ],
  ['Q', 168, '518a54a215a8452a518a54a215a8452a518a54a215'],
  ['ba', 168, 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
  ['kerberos', 64, '6b65726265726f73'],
  ['kerberos', 128, '6b65726265726f737b9b5b2b93132b93'],
  ['kerberos', 168, '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
  ['kerberos', 256, '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
];

export interface S2kVector {
  readonly iterations: number;
  readonly password: Buffer;
  readonly salt: Buffer;
  readonly aes128: string;
  readonly aes256: string;
}

const ATHENA = Buffer.from('ATHENA.MIT.EDUraeburn');
const PASSWORD = Buffer.from('password');

export const RFC3962_S2K: readonly S2kVector[] = [
  {
    iterations: 1,
    password: PASSWORD,
    salt: ATHENA,
    aes128: '42 26 3c 6e 89 f4 fc 28 b8 df 68 ee 09 79 9f 15',
    aes256: `fe 69 7b 52 bc 0d 3c e1 44 32 ba 03 6a 92 e6 5b
             bb 52 28 09 90 a2 fa 27 88 39 98 d7 2a f3 01 61`,
  },
  {
    iterations: 2,
    password: PASSWORD,
    salt: ATHENA,
    aes128: 'c6 51 bf 29 e2 30 0a c2 7f a4 69 d6 93 bd da 13',
    aes256: `a2 e1 6d 16 b3 60 69 c1 35 d5 e9 d2 e2 5f 89 61
             02 68 56 18 b9 59 14 b4 67 c6 76 22 22 58 24 ff`,
  },
  {
    iterations: 1200,
    password: PASSWORD,
    salt: ATHENA,
    aes128: '4c 01 cd 46 d6 32 d0 1e 6d be 23 0a 01 ed 64 2a',
    aes256: `55 a6 ac 74 0a d1 7b 48 46 94 10 51 e1 e8 b0 a7
             54 8d 93 b0 ab 30 a8 bc 3f f1 62 80 38 2b 8c 2a`,
  },
  {
    iterations: 5,
    password: PASSWORD,
    salt: hex('1234567878563412'),
    aes128: 'e9 b2 3d 52 27 37 47 dd 5c 35 cb 55 be 61 9d 8e',
    aes256: `97 a4 e7 86 be 20 d8 1a 38 2d 5e bc 96 d5 90 9c
             ab cd ad c8 7c a4 8f 57 45 04 15 9f 16 c3 6e 31`,
  },
  {
    iterations: 1200,
    password: Buffer.from('X'.repeat(64)),
    salt: Buffer.from('pass phrase equals block size'),
    aes128: '59 d1 bb 78 9a 82 8b 1a a5 4e f9 c2 88 3f 69 ed',
    aes256: `89 ad ee 36 08 db 8b c7 1f 1b fb fe 45 94 86 b0
             56 18 b7 0c ba e2 20 92 53 4e 56 c5 53 ba 4b 34`,
  },
  {
    iterations: 50,
    password: hex('f09d849e'), // U+1D11E MUSICAL SYMBOL G CLEF, in UTF-8
    salt: Buffer.from('EXAMPLE.COMpianist'),
    aes128: 'f1 49 c1 f2 e1 54 a7 34 52 d4 3e 7f e6 2a 56 e5',
    aes256: `4b 6d 98 39 f8 44 06 df 1f 09 cc 16 6d b4 b8 3c
             57 18 48 b7 84 a3 d6 bd c3 46 58 9a 3e 39 3f 9e`,
  },
];

/** RFC 3962 Appendix B: AES-128-CBC-CTS, key "chicken teriyaki", zero IV. */
export const CTS_KEY = Buffer.from('chicken teriyaki');
export const CTS_PLAIN = Buffer.from(
  "I would like the General Gau's Chicken, please, and wonton soup.",
);
export const CTS: readonly [length: number, out: string][] = [
  [17, 'c6353568f2bf8cb4d8a580362da7ff7f 97'],
  [31, 'fc00783e0efdb2c1d445d4c8eff7ed22 97687268d6ecccc0c07b25e25ecfe5'],
  [32, '39312523a78662d5be7fcbcc98ebf5a8 97687268d6ecccc0c07b25e25ecfe584'],
  [
    47,
    '97687268d6ecccc0c07b25e25ecfe584 b3fffd940c16a18c1b5549d2f838029e 39312523a78662d5be7fcbcc98ebf5',
  ],
  [
    48,
    '97687268d6ecccc0c07b25e25ecfe584 9dad8bbb96c4cdc03bc103e1a194bbd8 39312523a78662d5be7fcbcc98ebf5a8',
  ],
  [
    64,
    `97687268d6ecccc0c07b25e25ecfe584 39312523a78662d5be7fcbcc98ebf5a8
     4807efe836ee89a526730dbc2f7bc840 9dad8bbb96c4cdc03bc103e1a194bbd8`,
  ],
];

/** MIT krb5's AES vectors (t_encrypt, t_cksum): enctype, key, usage, input, confounder, output. */
export const MIT_AES_ENCRYPT = [
  {
    enctype: 17,
    key: '9062430C8CDA3388922E6D6A509F5B7A',
    usage: 2,
    plain: Buffer.from('9 bytesss'),
    confounder: '94B491F481485B9A0678CD3C4EA386AD',
    cipher: '68FB9679601F45C78857B2BF820FD6E53ECA8D42FD4B1D7024A09205ABB7CD2EC26C355D2F',
  },
  {
    enctype: 18,
    key: 'F1C795E9248A09338D82C3F8D5B567040B0110736845041347235B1404231398',
    usage: 4,
    plain: Buffer.from('30 bytes bytes bytes bytes byt'),
    confounder: 'E45CA518B42E266AD98E165E706FFB60',
    cipher: `D1137A4D634CFECE924DBC3BF6790648BD5CFF7DE0E7B99460211D0DAEF3D79A
             295C688858F3B34B9CBD6EEBAE81DAF6B734D4D498B6714F1C1D`,
  },
] as const;

export const MIT_AES_CHECKSUM = [
  {
    cksumtype: 15,
    enctype: 17,
    key: '9062430C8CDA3388922E6D6A509F5B7A',
    usage: 3,
    data: Buffer.from('eight nine ten eleven twelve thirteen'),
    checksum: '01A4B088D45628F6946614E3',
  },
  {
    cksumtype: 16,
    enctype: 18,
    key: 'B1AE4CD8462AFF1677053CC9279AAC30B796FB81CE21474DD3DDBCFEA4EC76D7',
    usage: 4,
    data: Buffer.from('fourteen'),
    checksum: 'E08739E3279E2903EC8E3836',
  },
] as const;

/** MIT krb5's HMAC-MD5 checksum vector (checksum type -138, as RFC 4757 defines it). */
export const MIT_HMAC_MD5 = {
  key: 'F7D3A155AF5E238A0B7A871A96BA2AB2',
  usage: 6,
  data: Buffer.from('seventeen eighteen nineteen twenty'),
  checksum: 'EB38CC97E2230F59DA4117DC5859D7EC',
};

/** RFC 8009 Appendix A, one block per enctype. */
export const RFC8009 = [
  {
    enctype: 19,
    s2kSalt: Buffer.concat([hex('10DF9DD783E5BC8ACEA1730E74355F61'), ATHENA]),
    s2kKey: '089BCA48B105EA6EA77CA5D2F39DC5E7',
    baseKey: '3705D96080C17728A0E800EAB6E0D23C',
    usage: 2,
    kc: 'B31A018A48F54776F403E9A396325DC3',
    ke: '9B197DD1E8C5609D6E67C3E37C62C72E',
    ki: '9FDA0E56AB2D85E1569A688696C26A6C',
    checksum: 'D78367186643D67B411CBA9139FC1DEE',
    encryptions: [
      [
        '',
        '7E5895EAF2672435BAD817F545A37148',
        'EF85FB890BB8472F4DAB20394DCA781DAD877EDA39D50C870C0D5A0A8E48C718',
      ],
      [
        '000102030405',
        '7BCA285E2FD4130FB55B1A5C83BC5B24',
        '84D7F30754ED987BAB0BF3506BEB09CFB55402CEF7E6877CE99E247E52D16ED4421DFDF8976C',
      ],
      [
        '000102030405060708090A0B0C0D0E0F',
        '56AB21713FF62C0A1457200F6FA9948F',
        '3517D640F50DDC8AD3628722B3569D2AE07493FA8263254080EA65C1008E8FC295FB4852E7D83E1E7C48C37EEBE6B0D3',
      ],
      [
        '000102030405060708090A0B0C0D0E0F1011121314',
        'A7A4E29A4728CE10664FB64E49AD3FAC',
        '720F73B18D9859CD6CCB4346115CD336C70F58EDC0C4437C5573544C31C813BCE1E6D072C186B39A413C2F92CA9B8334A287FFCBFC',
      ],
    ],
  },
  {
    enctype: 20,
    s2kSalt: Buffer.concat([hex('10DF9DD783E5BC8ACEA1730E74355F61'), ATHENA]),
    s2kKey: '45BD806DBF6A833A9CFFC1C94589A222367A79BC21C413718906E9F578A78467',
    baseKey: '6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52',
    usage: 2,
    kc: 'EF5718BE86CC84963D8BBB5031E9F5C4BA41F28FAF69E73D',
    ke: '56AB22BEE63D82D7BC5227F6773F8EA7A5EB1C825160C38312980C442E5C7E49',
    ki: '69B16514E3CD8E56B82010D5C73012B622C4D00FFC23ED1F',
    checksum: '45EE791567EEFCA37F4AC1E0222DE80D43C3BFA06699672A',
    encryptions: [
      [
        '',
        'F764E9FA15C276478B2C7D0C4E5F58E4',
        '41F53FA5BFE7026D91FAF9BE959195A058707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C',
      ],
      [
        '000102030405',
        'B80D3251C1F6471494256FFE712D0B9A',
        '4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2',
      ],
      [
        '000102030405060708090A0B0C0D0E0F',
        '53BF8A0D105265D4E276428624CE5E63',
        'BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F68CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266',
      ],
      [
        '000102030405060708090A0B0C0D0E0F1011121314',
        '763E65367E864F02F55153C7E3B58AF1',
        '40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62',
      ],
    ],
  },
] as const;
