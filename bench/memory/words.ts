// The vocabulary of the generated memories and of the search queries: what agents advising
// people on health, money, work, travel and daily life write down. Every word is a content word
// that the 'english' text-search configuration keeps (no stop words).

export const WORDS = [
  // health
  'allergy', 'peanut', 'gluten', 'lactose', 'diabetes', 'insulin', 'glucose', 'cholesterol', 'blood', 'pressure',
  'hypertension', 'asthma', 'inhaler', 'migraine', 'headache', 'insomnia', 'sleep', 'fatigue', 'anxiety', 'depression',
  'therapy', 'therapist', 'physician', 'cardiologist', 'dentist', 'appointment', 'prescription', 'medication', 'dosage', 'vitamin',
  'supplement', 'exercise', 'running', 'cycling', 'swimming', 'yoga', 'pilates', 'marathon', 'knee', 'injury',
  'surgery', 'recovery', 'physiotherapy', 'diet', 'vegetarian', 'vegan', 'keto', 'protein', 'calories', 'hydration',
  'pregnancy', 'pediatrician', 'vaccination', 'checkup', 'symptoms', 'fever', 'cough', 'antibiotic', 'pharmacy', 'wellness',
  // money
  'budget', 'savings', 'mortgage', 'refinance', 'loan', 'credit', 'debit', 'overdraft', 'pension', 'retirement',
  'portfolio', 'stocks', 'bonds', 'dividend', 'index', 'fund', 'crypto', 'bitcoin', 'inflation', 'interest',
  'salary', 'bonus', 'invoice', 'taxes', 'deduction', 'insurance', 'premium', 'deductible', 'claim', 'subscription',
  'rent', 'lease', 'landlord', 'utilities', 'electricity', 'groceries', 'spending', 'allowance', 'tuition', 'scholarship',
  // work
  'promotion', 'manager', 'colleague', 'deadline', 'project', 'meeting', 'presentation', 'interview', 'resume', 'career',
  'startup', 'freelance', 'contract', 'negotiation', 'remote', 'office', 'commute', 'overtime', 'burnout', 'vacation',
  'mentor', 'training', 'certification', 'conference', 'networking', 'client', 'quarterly', 'review', 'feedback', 'goals',
  'engineering', 'marketing', 'design', 'sales', 'finance', 'accounting', 'legal', 'compliance', 'audit', 'strategy',
  // travel
  'flight', 'airport', 'passport', 'visa', 'hotel', 'booking', 'itinerary', 'luggage', 'layover', 'airline',
  'train', 'rental', 'cruise', 'beach', 'mountain', 'hiking', 'skiing', 'camping', 'museum', 'restaurant',
  'lisbon', 'tokyo', 'berlin', 'paris', 'london', 'barcelona', 'chicago', 'toronto', 'sydney', 'singapore',
  'window', 'aisle', 'upgrade', 'lounge', 'jetlag', 'timezone', 'currency', 'roaming', 'souvenir', 'guidebook',
  // home and family
  'daughter', 'son', 'spouse', 'partner', 'parents', 'grandmother', 'birthday', 'anniversary', 'wedding', 'school',
  'kindergarten', 'homework', 'babysitter', 'nanny', 'dog', 'cat', 'veterinarian', 'garden', 'kitchen', 'renovation',
  'furniture', 'apartment', 'neighborhood', 'moving', 'cleaning', 'laundry', 'cooking', 'recipe', 'baking', 'dinner',
  'breakfast', 'coffee', 'tea', 'wine', 'chocolate', 'pasta', 'sushi', 'salad', 'spicy', 'dessert',
  // preferences and habits
  'prefers', 'dislikes', 'enjoys', 'avoids', 'morning', 'evening', 'weekend', 'weekday', 'email', 'phone',
  'text', 'reminder', 'notification', 'calendar', 'schedule', 'routine', 'habit', 'hobby', 'reading', 'podcast',
  'music', 'jazz', 'classical', 'guitar', 'piano', 'painting', 'photography', 'chess', 'gaming', 'movies',
  'novel', 'history', 'science', 'language', 'spanish', 'french', 'japanese', 'german', 'lessons', 'course',
  // analysis and decisions
  'likely', 'unlikely', 'confirmed', 'uncertain', 'recommended', 'declined', 'approved', 'postponed', 'cancelled', 'scheduled',
  'increase', 'decrease', 'trend', 'pattern', 'risk', 'opportunity', 'priority', 'urgent', 'followup', 'escalate',
  'satisfied', 'frustrated', 'concerned', 'excited', 'stressed', 'motivated', 'hesitant', 'curious', 'loyal', 'churn',
  'renewal', 'trial', 'downgrade', 'refund', 'complaint', 'support', 'ticket', 'outage', 'password', 'account',
  'mobile', 'laptop', 'tablet', 'printer', 'wifi', 'router', 'backup', 'security', 'privacy', 'consent',
  'car', 'electric', 'charging', 'parking', 'bicycle', 'scooter', 'bus', 'subway', 'taxi', 'carpool',
] as const;

/** Query lengths of SearchMemories: 1, 2 or 3 words, in these shares. */
const QUERY_WORDS = [1, 1, 2, 2, 2, 3] as const;

/** A 1–3 word query of words from the list, chosen uniformly. */
export function randomQuery(random: () => number = Math.random): string {
  const n = QUERY_WORDS[Math.floor(random() * QUERY_WORDS.length)]!;
  const words = new Set<string>();
  while (words.size < n) words.add(WORDS[Math.floor(random() * WORDS.length)]!);
  return [...words].join(' ');
}
