/**
 * Name pools for random patients, grouped by cultural background so that a patient's given name,
 * family name, preferred language and (US Core) race/ethnicity agree. Several pools carry
 * diacritics on purpose (José, Zoë, Müller, Nguyễn, Søren) so accent-insensitive search can be
 * tested against real-looking data.
 */
import { SYSTEM, type Code } from '../terminology/systems.js';

const lang = (code: string, display: string): Code => ({ system: SYSTEM.language, code, display });
export const LANGUAGES = {
  english: lang('en-US', 'English (United States)'),
  spanish: lang('es', 'Spanish'),
  german: lang('de', 'German'),
  french: lang('fr', 'French'),
  chinese: lang('zh', 'Chinese'),
  vietnamese: lang('vi', 'Vietnamese'),
  hindi: lang('hi', 'Hindi'),
  arabic: lang('ar', 'Arabic'),
  portuguese: lang('pt', 'Portuguese'),
  korean: lang('ko', 'Korean'),
  swedish: lang('sv', 'Swedish'),
} as const satisfies Record<string, Code>;

const omb = (code: string, display: string): Code => ({ system: SYSTEM.ombRaceEthnicity, code, display });
export const RACES = {
  white: omb('2106-3', 'White'),
  black: omb('2054-5', 'Black or African American'),
  asian: omb('2028-9', 'Asian'),
  nativeAmerican: omb('1002-5', 'American Indian or Alaska Native'),
  pacificIslander: omb('2076-8', 'Native Hawaiian or Other Pacific Islander'),
} as const satisfies Record<string, Code>;
export const ETHNICITIES = {
  hispanic: omb('2135-2', 'Hispanic or Latino'),
  notHispanic: omb('2186-5', 'Not Hispanic or Latino'),
} as const satisfies Record<string, Code>;

export interface Culture {
  readonly female: readonly string[];
  readonly male: readonly string[];
  readonly family: readonly string[];
  /** A non-English preferred language, and how likely a patient is to prefer it. */
  readonly language?: { readonly code: Code; readonly probability: number };
  readonly races: readonly (readonly [Code, number])[];
  readonly hispanic: boolean;
}

export const CULTURES = {
  american: {
    female: [
      'Mary',
      'Jennifer',
      'Linda',
      'Emily',
      'Olivia',
      'Emma',
      'Ava',
      'Sarah',
      'Jessica',
      'Ashley',
      'Megan',
      'Rachel',
      'Hannah',
      'Grace',
      'Madison',
      'Abigail',
      'Lauren',
      'Katherine',
      'Brooke',
      'Amy',
    ],
    male: [
      'James',
      'Michael',
      'Robert',
      'David',
      'William',
      'Noah',
      'Liam',
      'Ethan',
      'Mason',
      'Daniel',
      'Christopher',
      'Anthony',
      'Kevin',
      'Brian',
      'Tyler',
      'Joshua',
      'Matthew',
      'Ryan',
      'Jacob',
      'Thomas',
    ],
    family: [
      'Smith',
      'Johnson',
      'Williams',
      'Brown',
      'Jones',
      'Miller',
      'Davis',
      'Wilson',
      'Anderson',
      'Taylor',
      'Thomas',
      'Moore',
      'Jackson',
      'Martin',
      'Thompson',
      'White',
      'Harris',
      'Clark',
      'Lewis',
      'Walker',
      'Young',
      "O'Connor",
      'McAllister',
      'Shaw',
      'Bennett',
      'Sullivan',
    ],
    races: [
      [RACES.white, 80],
      [RACES.black, 12],
      [RACES.nativeAmerican, 4],
      [RACES.pacificIslander, 2],
    ],
    hispanic: false,
  },
  africanAmerican: {
    female: ['Aaliyah', 'Imani', 'Keisha', 'Tanisha', 'Jasmine', 'Destiny', 'Ebony', 'Nia', 'Zuri', 'Janelle'],
    male: ['Jamal', 'Malik', 'DeShawn', 'Darnell', 'Andre', 'Marcus', 'Terrence', 'Isaiah', 'Jalen', 'Cedric'],
    family: ['Washington', 'Jefferson', 'Banks', 'Booker', 'Freeman', 'Robinson', 'Coleman', 'Jenkins', 'Brooks', 'Dawson'],
    races: [[RACES.black, 1]],
    hispanic: false,
  },
  hispanic: {
    female: ['María', 'Sofía', 'Lucía', 'Inés', 'Camila', 'Valentina', 'Guadalupe', 'Ximena', 'Mónica', 'Verónica', 'Ángela', 'Beatriz'],
    male: ['José', 'Jesús', 'Ramón', 'Andrés', 'Martín', 'Alejandro', 'Sebastián', 'Iván', 'Raúl', 'Héctor', 'Joaquín', 'Diego'],
    family: [
      'García',
      'Rodríguez',
      'Martínez',
      'Hernández',
      'López',
      'González',
      'Pérez',
      'Sánchez',
      'Ramírez',
      'Núñez',
      'Ibáñez',
      'Muñoz',
      'Jiménez',
      'Ortiz',
    ],
    language: { code: LANGUAGES.spanish, probability: 0.35 },
    races: [
      [RACES.white, 65],
      [RACES.black, 10],
      [RACES.nativeAmerican, 15],
    ],
    hispanic: true,
  },
  french: {
    female: ['Hélène', 'Élise', 'Chloé', 'Renée', 'Céline', 'Amélie', 'Noémie', 'Margaux'],
    male: ['François', 'Jérôme', 'Loïc', 'André', 'Noël', 'Théo', 'Benoît', 'Étienne'],
    family: ['Lefèvre', 'Dubois', 'Moreau', 'Girard', 'Lemaître', 'Fontaine', 'Béranger', 'Mercier', 'Rousseau', 'Chevalier'],
    language: { code: LANGUAGES.french, probability: 0.15 },
    races: [[RACES.white, 1]],
    hispanic: false,
  },
  german: {
    female: ['Zoë', 'Anna', 'Greta', 'Lena', 'Käthe', 'Jana', 'Sophie', 'Franziska'],
    male: ['Jürgen', 'Lukas', 'Matthias', 'Jörg', 'Felix', 'Tobias', 'Maximilian', 'Florian'],
    family: ['Müller', 'Schäfer', 'Schmidt', 'Köhler', 'Becker', 'Hoffmann', 'Krüger', 'Wagner', 'Größ', 'Weiß'],
    language: { code: LANGUAGES.german, probability: 0.1 },
    races: [[RACES.white, 1]],
    hispanic: false,
  },
  nordic: {
    female: ['Åsa', 'Ingrid', 'Sigrid', 'Linnéa', 'Maja', 'Freja'],
    male: ['Björn', 'Søren', 'Lars', 'Mikael', 'Anders', 'Örjan'],
    family: ['Lindström', 'Åkesson', 'Sørensen', 'Johansson', 'Nyström', 'Andersen', 'Løvgren'],
    language: { code: LANGUAGES.swedish, probability: 0.05 },
    races: [[RACES.white, 1]],
    hispanic: false,
  },
  vietnamese: {
    female: ['Lan', 'Thảo', 'Phương', 'Linh', 'Hương', 'Ngọc'],
    male: ['Minh', 'Huy', 'Tuấn', 'Đức', 'Quang', 'Khánh'],
    family: ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Võ', 'Đặng'],
    language: { code: LANGUAGES.vietnamese, probability: 0.4 },
    races: [[RACES.asian, 1]],
    hispanic: false,
  },
  eastAsian: {
    female: ['Mei', 'Hana', 'Yuki', 'Ji-woo', 'Xiu', 'Min-seo'],
    male: ['Wei', 'Jun', 'Hiroshi', 'Min-jun', 'Haruto', 'Jian'],
    family: ['Chen', 'Wang', 'Li', 'Zhang', 'Kim', 'Park', 'Tanaka', 'Sato', 'Liu', 'Choi'],
    language: { code: LANGUAGES.chinese, probability: 0.2 },
    races: [[RACES.asian, 1]],
    hispanic: false,
  },
  southAsian: {
    female: ['Priya', 'Ananya', 'Deepa', 'Kavya', 'Aditi', 'Meera'],
    male: ['Arjun', 'Rahul', 'Vikram', 'Rohan', 'Sanjay', 'Aarav'],
    family: ['Patel', 'Sharma', 'Singh', 'Iyer', 'Reddy', 'Gupta', 'Nair'],
    language: { code: LANGUAGES.hindi, probability: 0.15 },
    races: [[RACES.asian, 1]],
    hispanic: false,
  },
  arab: {
    female: ['Layla', 'Fatima', 'Nour', 'Rania', 'Yasmin', 'Salma'],
    male: ['Omar', 'Youssef', 'Karim', 'Hassan', 'Tariq', 'Samir'],
    family: ['Haddad', 'Khalil', 'Nasser', 'Saleh', 'Farah', 'Aziz', 'El-Amin'],
    language: { code: LANGUAGES.arabic, probability: 0.25 },
    races: [[RACES.white, 1]],
    hispanic: false,
  },
  lusophone: {
    female: ['Conceição', 'Luíza', 'Beatriz', 'Mariana', 'Letícia'],
    male: ['João', 'Gonçalo', 'Tomás', 'Vinícius', 'Caio'],
    family: ['Gonçalves', 'Araújo', 'Oliveira', 'Simões', 'Magalhães', 'Conceição'],
    language: { code: LANGUAGES.portuguese, probability: 0.3 },
    races: [
      [RACES.white, 70],
      [RACES.black, 30],
    ],
    hispanic: false,
  },
  irish: {
    female: ['Siobhán', 'Niamh', 'Aoife', 'Saoirse', 'Róisín'],
    male: ['Seán', 'Ciarán', 'Pádraig', 'Oisín', 'Declan'],
    family: ["O'Brien", "O'Sullivan", 'Ó Súilleabháin', 'Byrne', 'Kavanagh', 'Ní Bhriain'],
    races: [[RACES.white, 1]],
    hispanic: false,
  },
} as const satisfies Record<string, Culture>;

export type CultureKey = keyof typeof CULTURES;

/** How common each background is among random patients (roughly a Boston-area mix). */
export const CULTURE_WEIGHTS: readonly (readonly [CultureKey, number])[] = [
  ['american', 40],
  ['africanAmerican', 9],
  ['hispanic', 16],
  ['irish', 5],
  ['french', 3],
  ['german', 4],
  ['nordic', 2],
  ['vietnamese', 4],
  ['eastAsian', 7],
  ['southAsian', 5],
  ['arab', 3],
  ['lusophone', 2],
];

export const CITIES: readonly { readonly city: string; readonly postalCode: string; readonly areaCode: string }[] = [
  { city: 'Boston', postalCode: '02118', areaCode: '617' },
  { city: 'Cambridge', postalCode: '02139', areaCode: '617' },
  { city: 'Somerville', postalCode: '02143', areaCode: '617' },
  { city: 'Quincy', postalCode: '02169', areaCode: '617' },
  { city: 'Brookline', postalCode: '02445', areaCode: '617' },
  { city: 'Newton', postalCode: '02458', areaCode: '617' },
  { city: 'Medford', postalCode: '02155', areaCode: '781' },
  { city: 'Malden', postalCode: '02148', areaCode: '781' },
  { city: 'Lowell', postalCode: '01852', areaCode: '978' },
  { city: 'Worcester', postalCode: '01608', areaCode: '508' },
];

export const STREETS: readonly string[] = [
  'Maple Street',
  'Oak Avenue',
  'Beacon Street',
  'Washington Street',
  'Elm Street',
  'Harvard Street',
  'Centre Street',
  'Pleasant Street',
  'Highland Avenue',
  'Chestnut Street',
  'Summer Street',
  'Park Drive',
  'Prospect Street',
  'Walnut Street',
  'Cedar Lane',
  'River Road',
  'School Street',
  'Linden Street',
  'Union Square',
  'Tremont Street',
];

const ASCII_FOLD: Readonly<Record<string, string>> = { ø: 'o', Ø: 'O', æ: 'ae', Æ: 'AE', ß: 'ss', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L' };

/** Lower-case ASCII for e-mail local parts: "Nguyễn" → "nguyen", "Søren" → "soren". */
export function asciiSlug(text: string): string {
  return text
    .replace(/[øØæÆßđĐłŁ]/g, (c) => ASCII_FOLD[c] ?? c)
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}
