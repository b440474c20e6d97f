/**
 * The demo's source data, generated deterministically: the monolith and every extracted service seed
 * their own SQLite files from it, as a real migration copies the monolith's tables.
 */
export interface SeedUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly createdAt: string;
}
export interface SeedProduct {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly priceCents: number;
  readonly description: string;
  readonly stock: number;
  readonly createdAt: string;
}
export interface SeedOrder {
  readonly id: string;
  readonly userId: string;
  readonly status: "placed" | "shipped" | "cancelled";
  readonly createdAt: string;
  readonly items: ReadonlyArray<{ readonly productId: string; readonly quantity: number }>;
}

export const CATEGORIES = ["books", "electronics", "home", "toys", "garden"] as const;
const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"];
const LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"];
const ADJECTIVES = ["Compact", "Classic", "Deluxe", "Eco", "Pro", "Mini", "Smart", "Vintage", "Rugged", "Silent", "Bright", "Quick"];
const NOUNS: Record<(typeof CATEGORIES)[number], string[]> = {
  books: ["Novel", "Cookbook", "Atlas", "Field Guide", "Anthology"],
  electronics: ["Headphones", "Charger", "Speaker", "Keyboard", "Webcam"],
  home: ["Lamp", "Kettle", "Blanket", "Mug Set", "Clock"],
  toys: ["Puzzle", "Kite", "Robot Kit", "Board Game", "Yo-yo"],
  garden: ["Trowel", "Planter", "Hose", "Seed Kit", "Watering Can"],
};

/** A small linear congruential generator: the same data on every machine, every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function isoDay(base: number, days: number, minutes = 0): string {
  return new Date(base + days * 86_400_000 + minutes * 60_000).toISOString();
}

const EPOCH = Date.UTC(2024, 0, 1);

export function seedUsers(): SeedUser[] {
  return Array.from({ length: 25 }, (_, i) => {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[(i * 3) % LAST.length] as string;
    const id = `u_${String(i + 1).padStart(3, "0")}`;
    return { id, email: `${first}.${last}.${i + 1}@example.com`.toLowerCase(), name: `${first} ${last}`, createdAt: isoDay(EPOCH, i * 3) };
  });
}

export function seedProducts(): SeedProduct[] {
  const random = generator(42);
  return Array.from({ length: 60 }, (_, i) => {
    const category = CATEGORIES[i % CATEGORIES.length] as (typeof CATEGORIES)[number];
    const noun = NOUNS[category][Math.floor(i / CATEGORIES.length) % 5] as string;
    const adjective = ADJECTIVES[Math.floor(random() * ADJECTIVES.length)] as string;
    // Prices come from a short list so that sorting by price has ties, as real catalogues do.
    const priceCents = [499, 999, 1299, 1999, 2499, 4999, 8999][Math.floor(random() * 7)] as number;
    const id = `p_${String(i + 1).padStart(3, "0")}`;
    return {
      id,
      sku: `${category.slice(0, 3).toUpperCase()}-${1000 + i}`,
      name: `${adjective} ${noun}`,
      category,
      priceCents,
      description: `A ${adjective.toLowerCase()} ${noun.toLowerCase()} from our ${category} range.`,
      stock: Math.floor(random() * 200),
      createdAt: isoDay(EPOCH, 10 + i),
    };
  });
}

export function seedOrders(): SeedOrder[] {
  const random = generator(7);
  const statuses = ["placed", "shipped", "cancelled"] as const;
  return Array.from({ length: 40 }, (_, i) => {
    const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
      productId: `p_${String(1 + Math.floor(random() * 60)).padStart(3, "0")}`,
      quantity: 1 + Math.floor(random() * 3),
    }));
    // Orders are placed in pairs at the same minute: listing them by time has ties.
    return {
      id: `ord_seed_${String(i + 1).padStart(3, "0")}`,
      userId: `u_${String(1 + (i % 25)).padStart(3, "0")}`,
      status: statuses[Math.floor(random() * 10) % 3 === 0 ? 1 : i % 7 === 0 ? 2 : 0] as SeedOrder["status"],
      createdAt: isoDay(EPOCH, 200 + Math.floor(i / 2), 0),
      items: items.filter((item, index) => items.findIndex((other) => other.productId === item.productId) === index),
    };
  });
}
